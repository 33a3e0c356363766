"""queryActivities: fetch a viewing history (Gandalf pages or an uploaded Netflix
export), store one viewing record per show, then split the shows into chunks.

No invocation needs more than its timeout: every upstream call has a deadline within
the invocation's remaining time, each page is stored as it arrives, and with pages
left and little time the rest is handed to a new message on the stage's own queue.
Nothing is decided per part: the date format, which titles are series and which rows
are rejected are decided once, over the whole history, when the last page is in."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from aws_lambda_powertools.metrics import MetricUnit

from tvreport import publisher
from tvreport.clients.errors import PermanentUpstreamError, UpstreamAuthError
from tvreport.clients.gandalf import GandalfActivity, GandalfClient
from tvreport.clients.http import DeadlineExceeded, deadline_within
from tvreport.clock import utc_now
from tvreport.messages import ActivitiesRequest
from tvreport.netflix.csv_reader import CsvFormatError, read_netflix_csv_bytes
from tvreport.netflix.dates import detect_date_format, parse_date
from tvreport.observability import count_auth_failure, logger, metrics
from tvreport.repositories.protocols import SessionStore, ViewingStore
from tvreport.repositories.viewing import Activity, ItemTooLarge
from tvreport.stages import chunk_waves
from tvreport.stages.chunk_waves import chunk_messages  # also what an operator's chunk retry sends
from tvreport.stages.history import count_by_kind, group_plays

PAGE_LIMIT = 300  # the Gandalf schema's cap
HANDOFF_MARGIN_MS = 60_000  # stop fetching with this much time left (a window of pages + writes)


@dataclass
class ActivitiesDeps:
    sessions: SessionStore
    viewing: ViewingStore
    activities_queue_url: str
    show_data_queue_url: str
    chunk_size: int
    gandalf: Callable[[], GandalfClient]  # made on first use: needs the secret
    read_upload: Callable[[str], bytes]
    concurrency: int = 4
    wave_size: int = 10  # chunks per wave (tvreport.waves)
    max_shows: int = 10_000  # distinct shows per session


def handle(request: ActivitiesRequest, remaining_ms: Callable[[], int], deps: ActivitiesDeps) -> None:
    if deps.sessions.crunching(request.session_id) is None:
        return
    try:
        if request.source == "netflix_csv":
            _from_netflix_export(request, deps)
        else:
            _from_gandalf(request, remaining_ms, deps)
    except ItemTooLarge as error:
        # Not retryable: the same history gives the same item. Say what happened.
        logger.error("viewing item over the DynamoDB item size limit", extra={"error": str(error)[:200]})
        deps.sessions.fail(request.session_id, "HISTORY_ITEM_TOO_LARGE",
                           "a viewing record exceeded DynamoDB's 400 KB item limit")


def _from_netflix_export(request: ActivitiesRequest, deps: ActivitiesDeps) -> None:
    if not request.upload_key:
        deps.sessions.fail(request.session_id, "INVALID_REQUEST", "netflix_csv source without an upload")
        return
    try:
        result = read_netflix_csv_bytes(deps.read_upload(request.upload_key))
    except CsvFormatError as error:
        deps.sessions.fail(request.session_id, "INVALID_EXPORT", str(error))
        return
    if result.date_format is None:
        deps.sessions.fail(request.session_id, "INVALID_EXPORT", "no readable dates in the export")
        return
    activities = [(a.title, a.watched_on, a.imdb_id) for a in result.activities]
    rejected = _store(request.session_id, activities, deps) + len(result.rejected)
    deps.sessions.record_activity_pages(request.session_id, 1, 1, result.date_format)
    _split(request.session_id, rejected, deps)


def _from_gandalf(request: ActivitiesRequest, remaining_ms: Callable[[], int], deps: ActivitiesDeps) -> None:
    """Fetch pages, storing each as it arrives (raw: nothing is decided per part), hand
    the rest on when time runs low; once every page is in, decide over the whole
    history and store the records."""
    if request.data_key is None:
        deps.sessions.fail(request.session_id, "INVALID_REQUEST", "gandalf source without a dataKey")
        return
    data_key = request.data_key.get_secret_value()
    client = deps.gandalf()
    session_id = request.session_id
    fetched = 0
    try:
        with deadline_within(remaining_ms):
            first = client.fetch_page(data_key, request.next_page, PAGE_LIMIT)
            total_pages = max(1, math.ceil(first.total / PAGE_LIMIT))
            deps.viewing.put_raw_page(session_id, request.next_page, _raw(first.activities))
            fetched += len(first.activities)
            stored = deps.viewing.raw_page_numbers(session_id)  # a redelivered part resumes
            next_page = request.next_page + 1
            while next_page <= total_pages and remaining_ms() > HANDOFF_MARGIN_MS:
                last = min(total_pages, next_page + 2 * deps.concurrency - 1)
                window = [p for p in range(next_page, last + 1) if p not in stored]
                try:
                    for page in client.fetch_pages(data_key, window, PAGE_LIMIT):
                        deps.viewing.put_raw_page(session_id, page.page, _raw(page.activities))
                        stored.add(page.page)
                        fetched += len(page.activities)
                except DeadlineExceeded:
                    break  # what arrived is stored; the rest is handed on below
                next_page = last + 1
            missing = [p for p in range(request.next_page, total_pages + 1) if p not in stored]
    except UpstreamAuthError as error:
        _refused(request, error, deps, "UPSTREAM_AUTH_FAILED")
        return
    except PermanentUpstreamError as error:
        _refused(request, error, deps, error.code or "UPSTREAM_REJECTED")
        return
    metrics.add_metric(name="ActivitiesFetched", unit=MetricUnit.Count, value=fetched)
    if missing:
        deps.sessions.record_activity_pages(session_id, missing[0] - 1, total_pages, None)
        logger.info("handing over the rest of the history", extra={"next_page": missing[0], "pages": total_pages})
        publisher.send(deps.activities_queue_url, [request.model_copy(update={"next_page": missing[0]})])
        return
    pages = deps.viewing.raw_pages(session_id)
    raw = [activity for number in sorted(pages) if number <= total_pages for activity in pages[number]]
    date_format = request.date_format or (_decide_date_format([d for _, d, _ in raw]) if raw else None)
    if raw and date_format is None:
        deps.sessions.fail(session_id, "INVALID_HISTORY", "dates in the history are unreadable")
        return
    activities, unreadable = _dated(raw, date_format) if date_format else ([], 0)
    rejected = _store(session_id, activities, deps) + unreadable
    deps.sessions.record_activity_pages(session_id, total_pages, total_pages, date_format)
    _split(session_id, rejected, deps)


def _refused(request: ActivitiesRequest, error: PermanentUpstreamError, deps: ActivitiesDeps, reason: str) -> None:
    # Cannot succeed on retry (bad dataKey, bad signature): fail now, no retry storm.
    logger.warning("gandalf refused the history", extra={"code": error.code, "status": error.status})
    if reason == "UPSTREAM_AUTH_FAILED":
        count_auth_failure(error.service)
    deps.sessions.fail(request.session_id, reason, str(error))


def _raw(activities: list[GandalfActivity]) -> list[Activity]:
    return [(a.title, a.date, a.imdb_id) for a in activities]


def _decide_date_format(dates: list[str]) -> str | None:
    # The Gandalf schema documents DD/MM/YYYY, the original app read month-first: the
    # whole history decides, and an undecidable one follows the schema.
    guess = detect_date_format(dates, prefer_day_first=True)
    if guess.ambiguous:
        logger.info("date format ambiguous; following the schema", extra={"format": guess.fmt, "reason": guess.reason})
    return guess.fmt


def _dated(activities: list[Activity], fmt: str) -> tuple[list[tuple[str, date, str | None]], int]:
    dated, unreadable = [], 0
    for title, raw_date, imdb_id in activities:
        try:
            dated.append((title, parse_date(raw_date, fmt), imdb_id))
        except ValueError:
            unreadable += 1
    return dated, unreadable


def _store(session_id: str, activities: list[tuple[str, date, str | None]], deps: ActivitiesDeps) -> int:
    """The whole history at once: one record per show, written whole (a redelivery
    writes the same items)."""
    grouped, rejected = group_plays(activities)
    for key, entry in grouped.items():
        deps.viewing.put_record(session_id, key, title=entry.title, kind=entry.kind, plays=entry.plays,
                                imdb_id=entry.imdb_id)
    if rejected:
        logger.info("titles rejected", extra={"count": rejected})
    return rejected


def _split(session_id: str, rejected: int, deps: ActivitiesDeps) -> None:
    """Set the totals, then release the first wave of chunks; the tracker releases the
    rest as chunks are counted (a redelivery re-sends the same deterministic chunks;
    the ledger counts each once)."""
    records = deps.viewing.records(session_id, as_of=utc_now().date())  # episodes_last_year unread here
    messages = chunk_messages(session_id, records, deps.chunk_size)
    shows = sum(len(m.shows) for m in messages)
    if shows > deps.max_shows:
        deps.sessions.fail(session_id, "TOO_MANY_SHOWS",
                           f"{shows} distinct shows; a session may have at most {deps.max_shows}")
        return
    kinds = count_by_kind(records)
    deps.sessions.set_totals(session_id, total_shows=shows, total_chunks=len(messages),
                             movies=kinds.get("movie", 0), activities=sum(r.plays for r in records),
                             rejected=rejected)
    chunk_waves.start(session_id, messages, wave_size=deps.wave_size, chunk_size=deps.chunk_size,
                      deps=chunk_waves.WaveDeps(deps.sessions, deps.viewing, deps.show_data_queue_url))
    logger.info("history split", extra={"shows": shows, "chunks": len(messages)})
