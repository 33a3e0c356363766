"""Each function's environment in the synthesized template against what its code reads.

Every handler is cold-started (imported fresh) with exactly its template environment,
tokens rendered as placeholder strings. The settings models it builds (tvreport.settings,
through tvreport.wiring) are recorded: a required key missing from the template fails
the cold start with ConfigError, and a template key no built model declares is a key the
function never reads. Nothing here copies the wiring table; the handlers' own cold
starts say which models each function needs."""
from __future__ import annotations

import os
from typing import Any

import pytest

from tests.infrastructure.template_queries import TemplateQueries
from tests.support.handlers import LAMBDAS, load_handler
from tvreport import env_keys, secrets, wiring
from tvreport.settings import EnvSettings

FUNCTIONS = sorted(path.parent.name for path in LAMBDAS.glob("*/handler.py"))
# Keys read outside the settings models, each by a named reader:
READ_ELSEWHERE = {
    env_keys.POWERTOOLS_SERVICE_NAME,  # Powertools' logger, tracer and metrics
    env_keys.POWERTOOLS_METRICS_NAMESPACE,
    env_keys.PYDANTIC_DISABLE_PLUGINS,  # pydantic, at its first model build
    env_keys.UPSTREAM_RATE_LIMITS,  # tvreport.clients.slots, at the first budgeted call
    env_keys.UPSTREAM_BUDGETS_TABLE,
    *(by_name for by_name, _ in secrets._PAIRS.values()),  # tvreport.secrets, at the first upstream call
}
OUR_KEYS = {value for name, value in vars(env_keys).items() if name.isupper() and isinstance(value, str)}


def _render(value: Any) -> str:
    """A template value as the function sees it: literals as written, tokens as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    return "token"


def _cold_start(directory: str, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> set[type]:
    for key in OUR_KEYS | set(environment):
        monkeypatch.delenv(key, raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    for cached in vars(wiring).values():
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()  # a fresh process: nothing built by an earlier test

    built: set[type] = set()
    original = EnvSettings.from_env.__func__  # type: ignore[attr-defined]

    def recording(cls: type[EnvSettings], environ: dict[str, str] | None = None) -> EnvSettings:
        built.add(cls)
        return original(cls, environ)

    monkeypatch.setattr(EnvSettings, "from_env", classmethod(recording))
    module = load_handler(directory)
    for name in ("_connect_settings",):  # settings a handler builds at its first request
        if hasattr(module, name):
            getattr(module, name)()
    return built


@pytest.mark.parametrize("directory", FUNCTIONS)
def test_the_environment_holds_every_key_the_function_reads_and_no_other(
    directory: str, queries: TemplateQueries, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {key: _render(value) for key, value in queries.environment(directory).items()}
    built = _cold_start(directory, environment, monkeypatch)  # a missing required key raises here
    assert built, f"{directory} built no settings at cold start"
    never_read = _never_read(environment, built)
    assert not never_read, f"{directory} is given keys it never reads: {sorted(never_read)}"
    required = {field.alias for model in built for field in model.model_fields.values() if field.is_required()}
    assert required <= set(environment)


def _never_read(environment: dict[str, str], built: set[type]) -> set[str]:
    declared = {field.alias for model in built for field in model.model_fields.values()}
    # POWERTOOLS_*: Powertools' own settings (service, namespace, tracer capture), read by it
    return {key for key in set(environment) - declared - READ_ELSEWHERE if not key.startswith("POWERTOOLS_")}


def test_a_key_the_function_never_reads_is_found(queries: TemplateQueries, monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {key: _render(value) for key, value in queries.environment("tv_bff").items()}
    environment[env_keys.DEAD_LETTER_SOURCES] = "{}"  # the dead-letter function's key, given to tv_bff
    assert _never_read(environment, _cold_start("tv_bff", environment, monkeypatch)) == {env_keys.DEAD_LETTER_SOURCES}


def test_a_required_key_left_out_of_the_template_fails_the_cold_start(
    queries: TemplateQueries, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {key: _render(value) for key, value in queries.environment("tv_bff").items()}
    del environment[env_keys.OPENAI_MODEL]
    with pytest.raises(Exception, match=env_keys.OPENAI_MODEL):
        _cold_start("tv_bff", environment, monkeypatch)
