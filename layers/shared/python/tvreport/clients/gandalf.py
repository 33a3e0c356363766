"""Gandalf (Sauron) GraphQL client: signed `getActivity` pages of a Netflix history.

Every request carries `X-Gandalf-Signature`: base64 of the DER ECDSA secp256k1
signature over SHA-256 of the exact body bytes sent."""
from __future__ import annotations

import base64
import contextvars  # the call deadline follows each page into the pool
import json
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tvreport.clients.errors import PermanentUpstreamError, RetryableUpstreamError
from tvreport.clients.http import RetryPolicy, Upstream, check_status, shared_http_client
from tvreport.observability import logger

SERVICE = "gandalf"
SIGNATURE_HEADER = "X-Gandalf-Signature"
MAX_PAGE_LIMIT = 300  # the schema caps `limit`
TIMEOUT_S = 20.0
# Codes that say the request itself is wrong: repeating it cannot help.
PERMANENT_CODES = frozenset({"INVALID_SIGNATURE", "RECORD_NOT_FOUND", "PROTOCOL_NOT_SUPPORTED"})

GET_ACTIVITY_QUERY = """\
query getActivity($dataKey: String!, $source: Source!, $limit: Int64!, $page: Int64!) {
  getActivity(dataKey: $dataKey, source: $source, limit: $limit, page: $page) {
    data {
      id
      metadata {
        ... on NetflixActivityMetadata {
          title
          date
          subject {
            value
            identifierType
          }
        }
      }
    }
    limit
    total
    page
  }
}"""


@dataclass
class GandalfActivity:
    title: str
    date: str  # raw, as Gandalf sent it (day- or month-first is decided per history)
    imdb_id: str | None = None
    tvdb_id: str | None = None


@dataclass
class ActivityPage:
    page: int
    limit: int
    total: int
    activities: list[GandalfActivity] = field(default_factory=list)
    skipped: int = 0  # entries without a Netflix title (other metadata, nulls)


def load_private_key(private_key_hex: str) -> ec.EllipticCurvePrivateKey:
    digits = private_key_hex.strip()
    if digits[:2].lower() == "0x":
        digits = digits[2:]
    return ec.derive_private_key(int(digits, 16), ec.SECP256K1())


def sign_body(private_key: ec.EllipticCurvePrivateKey, body: bytes) -> str:
    return base64.b64encode(private_key.sign(body, ec.ECDSA(hashes.SHA256()))).decode("ascii")


def parse_activity_page(payload: dict[str, Any]) -> ActivityPage:
    """The `getActivity` object of a response -> ActivityPage (tolerates nulls)."""
    page = ActivityPage(
        page=int(payload.get("page") or 0),
        limit=int(payload.get("limit") or 0),
        total=int(payload.get("total") or 0),
    )
    for entry in payload.get("data") or []:
        activity = _parse_activity(entry)
        if activity is None:
            page.skipped += 1
        else:
            page.activities.append(activity)
    return page


def _parse_activity(entry: Any) -> GandalfActivity | None:
    metadata = entry.get("metadata") if isinstance(entry, dict) else None
    if not isinstance(metadata, dict) or not metadata.get("title"):
        return None
    identifiers: dict[str, str] = {}
    for subject in metadata.get("subject") or []:
        if isinstance(subject, dict) and subject.get("value"):
            identifiers.setdefault(str(subject.get("identifierType", "")).upper(), str(subject["value"]))
    return GandalfActivity(
        title=str(metadata["title"]),
        # `lastPlayedAt` is how older SDK output named the date.
        date=str(metadata.get("date") or metadata.get("lastPlayedAt") or ""),
        imdb_id=identifiers.get("IMDB"),
        tvdb_id=identifiers.get("TVDB"),
    )


class GandalfClient:
    def __init__(
        self,
        base_url: str,
        private_key_hex: str,
        http: httpx.Client | None = None,
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._endpoint = base_url  # the full GraphQL URL; posted to as is
        self._private_key = load_private_key(private_key_hex)
        self._max_concurrency = max(1, max_concurrency)
        self._upstream = Upstream(SERVICE, http or shared_http_client(SERVICE, "", TIMEOUT_S), retry)

    def fetch_page(self, data_key: str, page: int, limit: int = MAX_PAGE_LIMIT) -> ActivityPage:
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_PAGE_LIMIT}")
        body = json.dumps(
            {
                "operationName": "getActivity",
                "query": GET_ACTIVITY_QUERY,
                "variables": {"dataKey": data_key, "source": "NETFLIX", "limit": limit, "page": page},
            },
            separators=(",", ":"),
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign_body(self._private_key, body)}
        result = self._upstream.call("POST", self._endpoint, self._parse_response, content=body, headers=headers)
        logger.debug("gandalf page fetched", extra={"page": page, "activities": len(result.activities)})
        return result

    def fetch_pages(self, data_key: str, pages: Sequence[int], limit: int = MAX_PAGE_LIMIT) -> Iterator[ActivityPage]:
        """Pages fetched concurrently (at most `max_concurrency` in flight), yielded in
        the order given. Stopping early cancels what has not started."""
        pending_pages = iter(pages)
        in_flight: deque[Future[ActivityPage]] = deque()
        executor = ThreadPoolExecutor(max_workers=self._max_concurrency, thread_name_prefix="gandalf")
        try:
            for page in pending_pages:
                in_flight.append(
                    executor.submit(contextvars.copy_context().run, self.fetch_page, data_key, page, limit))
                if len(in_flight) >= self._max_concurrency:
                    break
            while in_flight:
                yield in_flight.popleft().result()
                next_page = next(pending_pages, None)
                if next_page is not None:
                    in_flight.append(
                        executor.submit(contextvars.copy_context().run, self.fetch_page, data_key, next_page, limit))
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    def _parse_response(self, response: httpx.Response) -> ActivityPage:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = {}
        errors = payload.get("errors") or []
        first_error = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        code = (first_error.get("extensions") or {}).get("code")
        if code in PERMANENT_CODES:
            raise PermanentUpstreamError("GraphQL error", service=SERVICE, status=response.status_code, code=code)
        # Without a known code the HTTP status decides (4xx permanent, 429/5xx transient).
        check_status(SERVICE, response)
        if errors:
            raise RetryableUpstreamError(
                "GraphQL error", service=SERVICE, status=response.status_code, code=code or "INTERNAL"
            )
        activity = (payload.get("data") or {}).get("getActivity")
        if not isinstance(activity, dict):
            raise RetryableUpstreamError("response without getActivity", service=SERVICE, status=response.status_code)
        return parse_activity_page(activity)
