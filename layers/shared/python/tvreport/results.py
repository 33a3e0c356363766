"""The follow-up stages' results, as typed values with snake_case fields: the stages
build them, the sessions repository stores them and SessionView reads them back.

Pure (pydantic only). The camelCase the API shows is declared here, as each model's
alias generator, and applied only at the API edge (`tvreport.api_models`); stored items
are written by field name. A stored result is read by name or by alias, so the
camelCase items written before the field names were stored still read the same."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from tvreport.ai_rules import BffPick, StarSignPick

Source = Literal["openai", "rules"]


class StageResult(BaseModel):
    """A follow-up stage's result: available, or why not (e.g. STAGE_FAILED from its
    dead letters). A stage whose result says more declares a subclass in the registry."""

    # defer_build: built at the first result read or stored, not at every importer's cold start.
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, validate_by_name=True,
                              validate_by_alias=True, defer_build=True)

    available: bool
    reason: str | None = None  # why not available

    @classmethod
    def unavailable(cls, reason: str) -> StageResult:
        return StageResult(available=False, reason=reason)

    def stored(self) -> dict[str, Any]:
        """As the session item keeps it: field names, the fields that are set."""
        return self.model_dump(mode="json", exclude_none=True)

    def api(self) -> dict[str, Any]:
        """As the API shows it: camelCase, the fields that are set."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class BffResult(StageResult):
    """tvBFF: the character from the top show who best fits the viewer."""

    show: str | None = None  # the TMDB name of the show
    tmdb_id: int | None = None
    character: str | None = None
    actor: str | None = None
    quip: str | None = None
    source: Source | None = None

    @classmethod
    def of(cls, show: str, tmdb_id: int, pick: BffPick) -> BffResult:
        return cls(available=True, show=show, tmdb_id=tmdb_id, **asdict(pick))


class StarSignResult(StageResult):
    """starSignPicker: a star sign and a TV personality, with their quips."""

    star_sign: str | None = None
    personality: str | None = None
    star_sign_quip: str | None = None
    personality_quip: str | None = None
    genres_quip: str | None = None
    score_quip: str | None = None
    source: Source | None = None

    @classmethod
    def of(cls, pick: StarSignPick) -> StarSignResult:
        return cls(available=True, **asdict(pick))
