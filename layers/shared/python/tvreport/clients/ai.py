"""OpenAI picks for the TV BFF and the star sign, as structured output (a strict JSON
schema whose enums hold the allowed answers), with the deterministic rules as a
fallback: no key, a refusal, an API error or an invalid answer twice -> rules."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_none

from tvreport.ai_rules import (
    PERSONALITIES,
    QUIP_MAX_CHARS,
    STAR_SIGNS,
    BffPick,
    StarSignPick,
    bff_candidates,
    rule_bff,
    rule_star_sign_pick,
)
from tvreport.clients.http import default_retry_policy, pause_after_429, record_metric, within_budget
from tvreport.clients.slots import slot_scheduler
from tvreport.observability import count_auth_failure, logger
from tvreport.records import CastMember
from tvreport.schema import Stage

__all__ = ["BffPick", "StarSignPick", "TvPersonalityAI"]

ANSWER_ATTEMPTS = 2  # the first answer and one retry, then the rules
TIMEOUT_S = 30.0
SERVICE_NAME = "openai"  # its budget key (tvreport.upstream_budgets)
AnswerT = TypeVar("AnswerT", bound=BaseModel)

_SYSTEM_PROMPT = (
    "You write a playful personal TV report. Answer only with the JSON the schema asks for. "
    f"Every quip is one friendly line of at most {QUIP_MAX_CHARS} characters, second person, no hashtags."
)
_QUIP = {"type": "string", "description": f"one line, at most {QUIP_MAX_CHARS} characters"}


class BffAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    character: str
    quip: str = Field(min_length=1, max_length=QUIP_MAX_CHARS)


class StarSignAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    star_sign: Literal[STAR_SIGNS]  # type: ignore[valid-type]
    personality: Literal[PERSONALITIES]  # type: ignore[valid-type]
    star_sign_quip: str = Field(min_length=1, max_length=QUIP_MAX_CHARS)
    personality_quip: str = Field(min_length=1, max_length=QUIP_MAX_CHARS)
    genres_quip: str = Field(min_length=1, max_length=QUIP_MAX_CHARS)
    score_quip: str = Field(min_length=1, max_length=QUIP_MAX_CHARS)


def bff_schema(character_names: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "character": {"type": "string", "enum": list(character_names)},
            "quip": {**_QUIP, "description": "why this character is their TV best friend; " + _QUIP["description"]},
        },
        "required": ["character", "quip"],
        "additionalProperties": False,
    }


def star_sign_schema() -> dict[str, Any]:
    quips = ("star_sign_quip", "personality_quip", "genres_quip", "score_quip")
    return {
        "type": "object",
        "properties": {
            "star_sign": {"type": "string", "enum": list(STAR_SIGNS)},
            "personality": {"type": "string", "enum": list(PERSONALITIES)},
            **{name: dict(_QUIP) for name in quips},
        },
        "required": ["star_sign", "personality", *quips],
        "additionalProperties": False,
    }


class UnusableAnswer(Exception):
    """A refusal, an API error or an answer that breaks the schema."""


class KeyRefused(UnusableAnswer):
    """OpenAI refused the API key: asking again cannot help."""


class TvPersonalityAI:
    def __init__(
        self,
        api_key: str | None,
        model: str = "gpt-4o-mini",
        base_url: str | None = None,
        http_client: Any = None,  # httpx.Client or httpx2.Client (the SDK accepts both)
    ) -> None:
        self._model = model
        # Retries are ours (one, then the rules): the SDK's own would multiply them.
        self._client = (
            openai.OpenAI(
                api_key=api_key,
                base_url=base_url or None,
                http_client=http_client,
                max_retries=0,
                timeout=TIMEOUT_S,
            )
            if api_key
            else None
        )

    def pick_bff(
        self, show_title: str, characters: list[CastMember], top_genres: list[tuple[str, float]]
    ) -> BffPick:
        candidates = bff_candidates(characters)
        if self._client is None or not candidates:
            return rule_bff(show_title, characters, top_genres)
        actor_by_character = {m.character: m.name for m in candidates}
        names = list(actor_by_character)
        prompt = {
            "task": "Pick the character from the user's most-watched show who would be their TV best friend.",
            "show": show_title,
            "characters": [{"character": n, "actor": actor_by_character[n]} for n in names],
            "top_genres_percent": [[genre, round(share, 1)] for genre, share in top_genres],
        }

        def in_enum(answer: BffAnswer) -> bool:
            return answer.character in actor_by_character

        answer = self._ask(Stage.TV_BFF.value, bff_schema(names), prompt, BffAnswer, in_enum)
        if answer is None:
            return rule_bff(show_title, characters, top_genres)
        return BffPick(
            character=answer.character,
            actor=actor_by_character[answer.character],
            quip=answer.quip,
            source="openai",
        )

    def pick_star_sign(
        self, top_genres: list[tuple[str, float]], average_score: float | None, top_shows: list[str]
    ) -> StarSignPick:
        if self._client is None:
            return rule_star_sign_pick(top_genres, average_score, top_shows)
        prompt = {
            "task": "Pick the user's TV star sign and TV personality from their viewing, with a quip for each, "
            "one about their top genres and one about their average Rotten Tomatoes score.",
            "top_genres_percent": [[genre, round(share, 1)] for genre, share in top_genres],
            "average_rotten_tomatoes_score": average_score,
            "top_shows": list(top_shows),
        }
        answer = self._ask(Stage.STAR_SIGN.value, star_sign_schema(), prompt, StarSignAnswer, lambda _: True)
        if answer is None:
            return rule_star_sign_pick(top_genres, average_score, top_shows)
        return StarSignPick(**answer.model_dump(), source="openai")

    def _ask(
        self,
        name: str,
        schema: dict[str, Any],
        prompt: dict[str, Any],
        answer_type: type[AnswerT],
        is_allowed: Callable[[AnswerT], bool],
    ) -> AnswerT | None:
        """The model's answer, validated; None once every attempt was unusable."""
        retrying = Retrying(
            stop=stop_after_attempt(ANSWER_ATTEMPTS),
            retry=retry_if_exception(lambda exc: isinstance(exc, UnusableAnswer) and not isinstance(exc, KeyRefused)),
            wait=wait_none(),
            reraise=True,
        )
        try:
            return retrying(self._ask_once, name, schema, prompt, answer_type, is_allowed)
        except UnusableAnswer as exc:
            record_metric("AiRuleFallbacks")
            logger.warning("ai answer unusable, using rules", extra={"pick": name, "reason": str(exc)})
            return None

    def _ask_once(
        self,
        name: str,
        schema: dict[str, Any],
        prompt: dict[str, Any],
        answer_type: type[AnswerT],
        is_allowed: Callable[[AnswerT], bool],
    ) -> AnswerT:
        assert self._client is not None
        slots = slot_scheduler(SERVICE_NAME)
        try:
            with within_budget(slots):  # a slot of the deployment's OpenAI budget, if it has one
                return self._complete(name, schema, prompt, answer_type, is_allowed)
        except UnusableAnswer as exc:
            if isinstance(exc.__cause__, openai.RateLimitError):  # the whole deployment slows down
                pause_after_429(slots, exc.__cause__.response.headers.get("Retry-After"),
                                default_retry_policy.retry_after_cap_s)
            raise

    def _complete(
        self,
        name: str,
        schema: dict[str, Any],
        prompt: dict[str, Any],
        answer_type: type[AnswerT],
        is_allowed: Callable[[AnswerT], bool],
    ) -> AnswerT:
        assert self._client is not None
        record_metric("AiCalls")
        try:
            completion = self._client.chat.completions.create(
                model=self._model,
                messages=[
                    {"role": "system", "content": _SYSTEM_PROMPT},
                    {"role": "user", "content": json.dumps(prompt, ensure_ascii=False)},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": name, "strict": True, "schema": schema},
                },
            )
        except openai.AuthenticationError as exc:
            # A wrong key: the report still comes (rules), but an operator must see it.
            count_auth_failure("openai")
            logger.error("openai refused the API key; using rules",
                         extra={"upstream": "openai", "status": exc.status_code})
            raise KeyRefused("api error: AuthenticationError") from exc
        except openai.OpenAIError as exc:
            raise UnusableAnswer(f"api error: {type(exc).__name__}") from exc
        self._record_usage(completion)
        if not completion.choices:
            raise UnusableAnswer("no choices")
        message = completion.choices[0].message
        if message.refusal:
            raise UnusableAnswer("refusal")
        try:
            answer = answer_type.model_validate_json(message.content or "")
        except ValidationError as exc:
            raise UnusableAnswer(f"invalid answer: {exc.error_count()} errors") from exc
        if not is_allowed(answer):
            raise UnusableAnswer("answer outside the allowed values")
        return answer

    @staticmethod
    def _record_usage(completion: Any) -> None:
        usage = getattr(completion, "usage", None)
        if usage is None:
            return
        record_metric("AiPromptTokens", usage.prompt_tokens or 0)
        record_metric("AiCompletionTokens", usage.completion_tokens or 0)
