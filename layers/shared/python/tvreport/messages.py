"""The message of each queue: one model per queue, shared by producer and consumer."""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from tvreport.schema import CHUNKED, STAGES, Stage

# defer_build: a model's validator is built at its first use, so each stage builds
# the one or two queues' models it reads and sends, not all six.
_STRICT = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _follow_up(stage: Stage) -> Stage:
    if not STAGES[stage].follow_up:
        raise ValueError(f"{stage.value} is not a follow-up stage")
    return stage


class ActivitiesRequest(BaseModel):
    """queryActivities queue: fetch (part of) a viewing history.

    `next_page` > 1 means an earlier invocation handed over the rest."""

    model_config = _STRICT
    session_id: str = Field(min_length=1)
    source: Literal["gandalf", "netflix_csv"]
    data_key: SecretStr | None = None  # gandalf only; a credential, never logged
    upload_key: str | None = None  # netflix_csv only: S3 key of the export
    next_page: int = Field(default=1, ge=1)
    date_format: str | None = None  # decided by an earlier part of the history

    def serialize(self) -> str:
        """The body on the queue: the dataKey in clear (SQS encrypts at rest), which
        `model_dump_json` would mask."""
        data = self.model_dump(mode="json")
        if self.data_key is not None:
            data["data_key"] = self.data_key.get_secret_value()
        return json.dumps(data)


class ShowRef(BaseModel):
    model_config = _STRICT
    show_key: str = Field(min_length=1)  # normalized title, the viewing-table sort key
    title: str
    imdb_id: str | None = None
    tvdb_id: str | None = None


class RtShowRef(BaseModel):
    model_config = _STRICT
    show_key: str
    title: str
    tmdb_id: int
    first_air_year: int | None = None
    cast: list[str] = Field(default_factory=list)


class ChunkMessage(BaseModel, ABC):
    """A chunked stage's message (tvreport.schema.CHUNKED): one chunk of one session."""

    model_config = _STRICT
    session_id: str = Field(min_length=1)
    chunk_id: int = Field(ge=0)

    @property
    @abstractmethod
    def shows_in_chunk(self) -> int:
        """The chunk's shows as its stage counts them (a dead letter fails them all)."""


class ShowChunk(ChunkMessage):
    """queryShowData queue: one chunk of a session's distinct shows.

    A part > 0 is the rest of a chunk handed on by an invocation short of time: its
    `shows` are those still to look up, `carried` and `carried_missing` what earlier
    parts found. Only the last part forwards and counts the chunk (once, by chunk id)."""

    shows: list[ShowRef]
    part: int = Field(default=0, ge=0)
    carried: list[RtShowRef] = Field(default_factory=list)
    carried_missing: int = Field(default=0, ge=0)

    @property
    def shows_in_chunk(self) -> int:
        return len(self.shows)


class RtChunk(ChunkMessage):
    """crawlRottenTomatoes queue: the same chunk, with what TMDB found."""

    shows: list[RtShowRef]
    not_on_tmdb: int = Field(default=0, ge=0)
    # A hand-off part (see ShowChunk): what earlier parts scored and did not.
    part: int = Field(default=0, ge=0)
    carried_scored: int = Field(default=0, ge=0)
    carried_unscored: int = Field(default=0, ge=0)

    @property
    def shows_in_chunk(self) -> int:
        return len(self.shows) + self.not_on_tmdb  # the shows TMDB did not find are the chunk's too


class AiStageRequest(BaseModel):
    """The follow-up stages' queues (tvreport.schema.FOLLOW_UPS): which one, for whom."""

    model_config = _STRICT
    session_id: str = Field(min_length=1)
    stage: Annotated[Stage, AfterValidator(_follow_up)]


# The model each stage's queue (and its DLQ) carries: the chunked stages' are
# ChunkMessages, the follow-ups' the AiStageRequest.
STAGE_MESSAGES: Mapping[Stage, type[BaseModel]] = MappingProxyType({
    Stage.QUERY_ACTIVITIES: ActivitiesRequest,
    Stage.QUERY_SHOW_DATA: ShowChunk,
    Stage.CRAWL_ROTTEN_TOMATOES: RtChunk,
    **{spec.stage: AiStageRequest for spec in STAGES.values() if spec.follow_up},
})
CHUNK_MESSAGES: Mapping[Stage, type[ChunkMessage]] = MappingProxyType({
    stage: model for stage, model in STAGE_MESSAGES.items() if issubclass(model, ChunkMessage)
})


def _check_messages() -> None:
    """Every stage has its queue's model, and a stage is chunked exactly when its
    model is a ChunkMessage (else its dead letters could not be counted)."""
    missing = set(STAGES) - set(STAGE_MESSAGES)
    if missing:
        raise ValueError(f"stages without a message model: {sorted(s.value for s in missing)}")
    if set(CHUNK_MESSAGES) != {spec.stage for spec in CHUNKED}:
        raise ValueError(f"chunked stages {[s.stage.value for s in CHUNKED]} and chunk messages "
                         f"{[s.value for s in CHUNK_MESSAGES]} differ")


_check_messages()

# What tvreport.publisher sends: every stage message names its session (the queues'
# fair-share tenant, MessageGroupId).
StageMessage = ActivitiesRequest | ChunkMessage | AiStageRequest
