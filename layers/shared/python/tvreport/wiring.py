"""Builds each stage's collaborators once per container (cold start): settings are
validated here; outside-service clients are made on first use, since they need a
secret and a network handle."""
from __future__ import annotations

import json
from datetime import timedelta
from functools import cache, lru_cache

from tvreport import aws
from tvreport.repositories.sessions import SessionRepository
from tvreport.repositories.show_cache import ShowCacheRepository
from tvreport.repositories.viewing import ViewingRepository
from tvreport.secrets import get_secret
from tvreport.session_model import Stage
from tvreport.settings import (
    ActivitiesSettings,
    AiSettings,
    ApiEdgeSettings,
    ApiSettings,
    CrawlSettings,
    DeadLetterSettings,
    PipelineSettings,
    ShowDataSettings,
    TableSettings,
    TriggerSettings,
)


@cache
def tables() -> TableSettings:
    return TableSettings.from_env()


@cache
def pipeline() -> PipelineSettings:
    return PipelineSettings.from_env()


def sessions() -> SessionRepository:
    return SessionRepository(tables().sessions_table, pipeline().session_ttl_days)


def viewing() -> ViewingRepository:
    return ViewingRepository(tables().viewing_table, pipeline().session_ttl_days)


def show_cache() -> ShowCacheRepository:
    return ShowCacheRepository(tables().show_cache_table, pipeline().show_cache_max_age_days)


def read_upload(bucket: str):
    def read(key: str) -> bytes:
        return aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return read


def activities_deps():
    from tvreport.clients.gandalf import GandalfClient
    from tvreport.stages.query_activities import ActivitiesDeps

    settings = ActivitiesSettings.from_env()

    @lru_cache(maxsize=1)
    def gandalf() -> GandalfClient:
        return GandalfClient(settings.gandalf_url, get_secret("gandalf"))  # type: ignore[arg-type]  # required=True

    return ActivitiesDeps(sessions(), viewing(), settings.activities_queue_url, settings.show_data_queue_url,
                          pipeline().chunk_size, gandalf, read_upload(settings.uploads_bucket),
                          wave_size=pipeline().chunk_wave_size, max_shows=pipeline().max_shows_per_session)


def show_data_deps():
    from tvreport.clients.tmdb import TmdbClient
    from tvreport.stages.query_show_data import ShowDataDeps

    settings = ShowDataSettings.from_env()

    @lru_cache(maxsize=1)
    def tmdb() -> TmdbClient:
        return TmdbClient(settings.tmdb_url, get_secret("tmdb"))  # type: ignore[arg-type]  # required=True

    return ShowDataDeps(sessions(), viewing(), show_cache(), settings.rt_queue_url, tmdb, settings.show_data_queue_url)


def crawl_deps():
    from tvreport.clients.rottentomatoes import RottenTomatoesClient
    from tvreport.stages.crawl_rotten_tomatoes import CrawlDeps

    settings = CrawlSettings.from_env()

    @lru_cache(maxsize=1)
    def rotten_tomatoes() -> RottenTomatoesClient:
        return RottenTomatoesClient(settings.rotten_tomatoes_url)

    return CrawlDeps(sessions(), show_cache(), rotten_tomatoes, settings.rt_queue_url)


def ai_deps():
    from tvreport.clients.ai import TvPersonalityAI
    from tvreport.stages.ai_stages import AiDeps

    settings = AiSettings.from_env()

    @lru_cache(maxsize=1)
    def ai() -> TvPersonalityAI:
        return TvPersonalityAI(get_secret("openai", required=False), model=settings.openai_model,
                               base_url=settings.openai_base_url or None)

    return AiDeps(sessions(), viewing(), show_cache(), ai)


def tracker_deps():
    from tvreport.stages.tracker import TrackerDeps

    settings = TriggerSettings.from_env()
    return TrackerDeps(sessions(), viewing(), show_cache(), settings.follow_up_queue_urls(),
                       settings.show_data_queue_url, resend_after=timedelta(seconds=pipeline().resend_after_seconds))


def dead_letter_deps():
    from tvreport.stages.dead_letters import DeadLetterDeps

    raw = json.loads(DeadLetterSettings.from_env().dead_letter_sources)
    return DeadLetterDeps(sessions(), {arn: Stage(stage) for arn, stage in raw.items()})


def api_settings() -> ApiSettings:
    return ApiSettings.from_env()


def api_edge_settings() -> ApiEdgeSettings:
    return ApiEdgeSettings.from_env()
