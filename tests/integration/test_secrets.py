"""Secrets by reference: read from Secrets Manager by name (cached), or a plain
local value; a missing required secret fails clearly."""
from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tvreport import env_keys
from tvreport.secrets import get_secret
from tvreport.settings import ConfigError


@pytest.fixture
def secrets_manager(aws_credentials, monkeypatch):
    for key in (env_keys.TMDB_API_KEY_SECRET, env_keys.TMDB_API_KEY, env_keys.OPENAI_API_KEY_SECRET,
                env_keys.OPENAI_API_KEY):
        monkeypatch.delenv(key, raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_a_secret_is_read_by_name_and_cached(secrets_manager, monkeypatch):
    secrets_manager.create_secret(Name="TvReportPipeline/tmdb-api-key", SecretString="key-1")
    monkeypatch.setenv(env_keys.TMDB_API_KEY_SECRET, "TvReportPipeline/tmdb-api-key")
    assert get_secret("tmdb") == "key-1"
    secrets_manager.put_secret_value(SecretId="TvReportPipeline/tmdb-api-key", SecretString="key-2")
    assert get_secret("tmdb") == "key-1"  # cached for the container's warm life (max_age)


def test_a_local_plain_value_stands_in(secrets_manager, monkeypatch):
    monkeypatch.setenv(env_keys.TMDB_API_KEY, " local-key ")
    assert get_secret("tmdb") == "local-key"


def test_missing_secrets(secrets_manager, monkeypatch):
    with pytest.raises(ConfigError, match="TMDB_API_KEY_SECRET"):
        get_secret("tmdb")
    assert get_secret("openai", required=False) is None  # no key: the AI stages use their rules
    secrets_manager.create_secret(Name="openai", SecretString="  ")
    monkeypatch.setenv(env_keys.OPENAI_API_KEY_SECRET, "openai")
    assert get_secret("openai", required=False) is None  # a blank placeholder counts as unset
