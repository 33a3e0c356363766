"""The message of each queue: one model per queue, shared by producer and consumer."""
from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from tvreport.schema import STAGES, Stage

_STRICT = ConfigDict(extra="forbid", frozen=True)


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


class ShowChunk(BaseModel):
    """queryShowData queue: one chunk of a session's distinct shows.

    A part > 0 is the rest of a chunk handed on by an invocation short of time: its
    `shows` are those still to look up, `carried` and `carried_missing` what earlier
    parts found. Only the last part forwards and counts the chunk (once, by chunk id)."""

    model_config = _STRICT
    session_id: str = Field(min_length=1)
    chunk_id: int = Field(ge=0)
    shows: list[ShowRef]
    part: int = Field(default=0, ge=0)
    carried: list[RtShowRef] = Field(default_factory=list)
    carried_missing: int = Field(default=0, ge=0)


class RtChunk(BaseModel):
    """crawlRottenTomatoes queue: the same chunk, with what TMDB found."""

    model_config = _STRICT
    session_id: str = Field(min_length=1)
    chunk_id: int = Field(ge=0)
    shows: list[RtShowRef]
    not_on_tmdb: int = Field(default=0, ge=0)
    # A hand-off part (see ShowChunk): what earlier parts scored and did not.
    part: int = Field(default=0, ge=0)
    carried_scored: int = Field(default=0, ge=0)
    carried_unscored: int = Field(default=0, ge=0)


class AiStageRequest(BaseModel):
    """The follow-up stages' queues (tvreport.schema.FOLLOW_UPS): which one, for whom."""

    model_config = _STRICT
    session_id: str = Field(min_length=1)
    stage: Annotated[Stage, AfterValidator(_follow_up)]
