"""Runtime settings, validated once at cold start from the environment.

Each handler loads only the groups it needs; a missing or malformed variable
fails the cold start with a message naming it (no silent defaults)."""
from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from tvreport import env_keys
from tvreport.schema import FOLLOW_UPS, Stage

T = TypeVar("T", bound="EnvSettings")


class ConfigError(ValueError):
    """A setting is missing or out of shape: an environment variable at cold start, or a
    CDK context value at synth (stacks/config.py raises this class too)."""


class EnvSettings(BaseModel):
    # Built when validated: a handler builds only the groups it loads.
    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    @classmethod
    def from_env(cls: type[T], environ: dict[str, str] | None = None) -> T:
        env = os.environ if environ is None else environ
        values = {field.alias: env[field.alias] for field in cls.model_fields.values()
                  if field.alias and field.alias in env}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            names = ", ".join(str(e["loc"][0]) for e in error.errors())
            raise ConfigError(f"invalid or missing environment variables: {names}") from error


class TableSettings(EnvSettings):
    sessions_table: str = Field(alias=env_keys.SESSIONS_TABLE, min_length=1)
    viewing_table: str = Field(alias=env_keys.VIEWING_TABLE, min_length=1)
    show_cache_table: str = Field(alias=env_keys.SHOW_CACHE_TABLE, min_length=1)


class PipelineSettings(EnvSettings):
    threshold_percent: int = Field(alias=env_keys.PROGRESS_THRESHOLD, ge=1, le=100)
    chunk_size: int = Field(alias=env_keys.CHUNK_SIZE, ge=1, le=500)
    chunk_wave_size: int = Field(alias=env_keys.CHUNK_WAVE_SIZE, ge=1)
    max_shows_per_session: int = Field(alias=env_keys.MAX_SHOWS_PER_SESSION, ge=1)
    session_ttl_days: int = Field(alias=env_keys.SESSION_TTL_DAYS, ge=1)
    stall_timeout_seconds: int = Field(alias=env_keys.STALL_TIMEOUT_SECONDS, ge=1)
    purge_delay_seconds: int = Field(alias=env_keys.PURGE_DELAY_SECONDS, ge=1)
    resend_after_seconds: int = Field(alias=env_keys.RESEND_AFTER_SECONDS, ge=1)
    show_cache_max_age_days: int = Field(alias=env_keys.SHOW_CACHE_MAX_AGE_DAYS, ge=0)


class ApiSettings(EnvSettings):
    activities_queue_url: str = Field(alias=env_keys.QUERY_ACTIVITIES_QUEUE_URL, min_length=1)
    uploads_bucket: str = Field(alias=env_keys.UPLOADS_BUCKET, min_length=1)


class ApiEdgeSettings(EnvSettings):
    # CDK always sets it (empty when CORS is off); absent means the same: no CORS.
    allowed_origins: str = Field(default="", alias=env_keys.API_ALLOWED_ORIGINS, pattern=r"^[^\s]*$")

    @property
    def origins(self) -> list[str]:
        return [origin for origin in self.allowed_origins.split(",") if origin]
class ConnectSettings(EnvSettings):
    gandalf_connect_url: str = Field(alias=env_keys.GANDALF_CONNECT_URL, min_length=1)


class ActivitiesSettings(ApiSettings):
    show_data_queue_url: str = Field(alias=env_keys.QUERY_SHOW_DATA_QUEUE_URL, min_length=1)
    gandalf_url: str = Field(alias=env_keys.GANDALF_URL, min_length=1)


class ShowDataSettings(EnvSettings):
    rt_queue_url: str = Field(alias=env_keys.CRAWL_RT_QUEUE_URL, min_length=1)
    show_data_queue_url: str = Field(alias=env_keys.QUERY_SHOW_DATA_QUEUE_URL, min_length=1)  # hand-off
    tmdb_url: str = Field(alias=env_keys.TMDB_URL, min_length=1)


class CrawlSettings(EnvSettings):
    rotten_tomatoes_url: str = Field(alias=env_keys.ROTTEN_TOMATOES_URL, min_length=1)
    rt_queue_url: str = Field(alias=env_keys.CRAWL_RT_QUEUE_URL, min_length=1)  # hand-off


class AiSettings(EnvSettings):
    openai_model: str = Field(alias=env_keys.OPENAI_MODEL, min_length=1)
    openai_base_url: str = Field(default="", alias=env_keys.OPENAI_BASE_URL)  # "" = SDK default


class _TriggerBase(EnvSettings):
    show_data_queue_url: str = Field(alias=env_keys.QUERY_SHOW_DATA_QUEUE_URL, min_length=1)  # chunk waves

    def follow_up_queue_urls(self) -> dict[Stage, str]:
        return {spec.stage: getattr(self, spec.stage.value) for spec in FOLLOW_UPS}


# The tracker and the watchdog: every follow-up stage's queue (tvreport.schema), one
# field per stage named by its value, so a stage the stack does not wire fails here.
TriggerSettings: type[_TriggerBase] = create_model(  # type: ignore[call-overload]
    "TriggerSettings", __base__=_TriggerBase,
    **{spec.stage.value: (str, Field(alias=spec.queue_url_key, min_length=1)) for spec in FOLLOW_UPS})


class DeadLetterSettings(EnvSettings):
    dead_letter_sources: str = Field(alias=env_keys.DEAD_LETTER_SOURCES, min_length=2)
