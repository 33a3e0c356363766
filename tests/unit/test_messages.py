"""Each queue's message survives the trip producer -> SQS body -> consumer."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tvreport.messages import ActivitiesRequest, AiStageRequest, RtChunk, RtShowRef, ShowChunk, ShowRef
from tvreport.publisher import _body

MESSAGES = [
    ActivitiesRequest(session_id="s", source="gandalf", data_key="key-1", next_page=3, date_format="%d/%m/%Y"),
    ActivitiesRequest(session_id="s", source="netflix_csv", upload_key="uploads/s.csv"),
    ShowChunk(session_id="s", chunk_id=2, shows=[ShowRef(show_key="dark", title="Dark", imdb_id="tt5753856")]),
    RtChunk(session_id="s", chunk_id=2, not_on_tmdb=1,
            shows=[RtShowRef(show_key="dark", title="Dark", tmdb_id=70523, first_air_year=2017, cast=["Louis Hofmann"])]),
    AiStageRequest(session_id="s", stage="star_sign"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip(message):
    parsed = type(message).model_validate_json(_body(message))
    assert parsed == message
    if isinstance(message, ActivitiesRequest) and message.data_key:
        assert parsed.data_key.get_secret_value() == "key-1"  # the consumer needs the real key
        assert "key-1" not in repr(parsed) and "key-1" not in str(parsed)  # but never prints it


@pytest.mark.parametrize("body", [
    {"session_id": "s", "chunk_id": -1, "shows": []},
    {"session_id": "", "chunk_id": 0, "shows": []},
    {"session_id": "s", "chunk_id": 0, "shows": [], "surprise": 1},
    {"session_id": "s", "chunk_id": 0},
])
def test_malformed_messages_are_rejected(body):
    with pytest.raises(ValidationError):
        ShowChunk.model_validate_json(json.dumps(body))
