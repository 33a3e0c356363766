"""The API edge (tvreport.api_models): domain values in, the API's JSON out, byte for
byte as the API has always answered (the literals below are answers recorded before
the answers were rendered from snake_case models), camelCase only here."""
from __future__ import annotations

import json

from tvreport.api_models import deleted_document, report_document, session_document, upload_document
from tvreport.results import BffResult, StarSignResult
from tvreport.session_model import SessionView, Stage
from tvreport.session_service import Deleted, UploadTicket


def compact(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"))  # as the resolver serializes an answer


def test_a_waiting_session_renders_as_the_api_has_always_answered() -> None:
    view = SessionView.from_item({"session_id": "s-1", "state": "AWAITING_CONNECTION", "threshold_percent": 97,
                                  "created_at": "T1", "updated_at": "T2"})
    assert compact(session_document(view)) == (
        '{"sessionId":"s-1","state":"AWAITING_CONNECTION","failureReason":null,"source":null,"thresholdPercent":97,'
        '"stages":{"queryActivities":{"percent":0,"pagesDone":0,"pagesTotal":null},"queryShowData":{"percent":0,'
        '"showsDone":0,"showsFailed":0,"chunksDone":0,"chunksFailed":0},"crawlRottenTomatoes":{"percent":0,'
        '"showsDone":0,"showsFailed":0,"chunksDone":0,"chunksFailed":0},"tvBFF":{"percent":0},'
        '"starSignPicker":{"percent":0}},"counters":{"totalShows":null,"totalChunks":null,"movies":null,'
        '"activities":null,"rejectedRows":null},"createdAt":"T1","updatedAt":"T2","completedAt":null}')
    with_url = session_document(view, connect_url="https://connect.test/?x=1")
    assert list(with_url)[-1] == "connectUrl" and with_url["connectUrl"] == "https://connect.test/?x=1"


def test_a_report_shows_each_result_camelcased_whichever_way_it_was_stored() -> None:
    by_name = {"available": True, "star_sign": "Leo", "personality": "Sitcom Sage", "star_sign_quip": "a",
               "personality_quip": "b", "genres_quip": "c", "score_quip": "d", "source": "rules"}
    by_alias = {"available": True, "starSign": "Leo", "personality": "Sitcom Sage", "starSignQuip": "a",
                "personalityQuip": "b", "genresQuip": "c", "scoreQuip": "d", "source": "rules"}
    expected = ('{"sessionId":"s-1","partial":false,"statistics":{"showsWatched":3,"averageRtScore":{"score":50}},'
                '"tvBff":{"available":false,"reason":"NO_SHOW_WITH_CAST"},"starSign":{"available":true,'
                '"starSign":"Leo","personality":"Sitcom Sage","starSignQuip":"a","personalityQuip":"b",'
                '"genresQuip":"c","scoreQuip":"d","source":"rules"}}')
    for stored in (by_name, by_alias):
        view = SessionView.from_item({
            "session_id": "s-1", "state": "COMPLETED", "star_sign_result": stored,
            "tv_bff_result": {"available": False, "reason": "NO_SHOW_WITH_CAST"},
            "statistics": {"showsWatched": 3, "averageRtScore": {"score": 50}}})
        assert isinstance(view.results[Stage.STAR_SIGN], StarSignResult)
        assert compact(report_document(view)) == expected


def test_a_bff_result_keeps_the_order_the_report_has_always_had() -> None:
    result = BffResult(available=True, show="Dark", tmdb_id=70523, character="Jonas", actor="Louis", quip="q",
                       source="openai")
    assert compact(result.api()) == ('{"available":true,"show":"Dark","tmdbId":70523,"character":"Jonas",'
                                     '"actor":"Louis","quip":"q","source":"openai"}')
    assert result.stored()["tmdb_id"] == 70523  # stored by field name


def test_deleted_counts_and_an_upload_ticket_render_camelcased() -> None:
    assert compact(deleted_document(Deleted(viewing_records=0, session_items=1))) == (
        '{"viewingRecordsDeleted":0,"sessionItemsDeleted":1}')
    ticket = UploadTicket(upload_id="u", url="https://uploads.test/", fields={"key": "k"}, max_bytes=52428800,
                          expires_in_seconds=900)
    assert compact(upload_document(ticket)) == (
        '{"uploadId":"u","url":"https://uploads.test/","fields":{"key":"k"},"maxBytes":52428800,'
        '"expiresInSeconds":900}')
