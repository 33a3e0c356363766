"""Secrets by reference: the stack passes a secret's NAME; the value is read through
Powertools parameters (cached). Without a name set, a plain-value variable may stand in (tests)."""
from __future__ import annotations

import os

from tvreport import env_keys
from tvreport.settings import ConfigError

_PAIRS = {
    "gandalf": (env_keys.GANDALF_PRIVATE_KEY_SECRET, env_keys.GANDALF_PRIVATE_KEY),
    "tmdb": (env_keys.TMDB_API_KEY_SECRET, env_keys.TMDB_API_KEY),
    "openai": (env_keys.OPENAI_API_KEY_SECRET, env_keys.OPENAI_API_KEY),
}
CACHE_SECONDS = 300


def get_secret(which: str, required: bool = True) -> str | None:
    """The secret's value; None (when not required) if it is unset or empty."""
    by_name, by_value = _PAIRS[which]
    value: str | None = None
    if os.environ.get(by_name):
        from aws_lambda_powertools.utilities import parameters  # only functions that read a secret load it

        value = parameters.get_secret(os.environ[by_name], max_age=CACHE_SECONDS)
    elif os.environ.get(by_value):
        value = os.environ[by_value]
    value = (value or "").strip() or None
    if value is None and required:
        raise ConfigError(f"secret {which!r} is not configured ({by_name} or {by_value})")
    return value
