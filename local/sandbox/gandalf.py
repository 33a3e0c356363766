"""Gandalf sandbox: the `getActivity` GraphQL query at POST /public/gql.

Not a GraphQL engine: it reads `variables` from the JSON body, checks the operation
is getActivity, verifies `X-Gandalf-Signature` (base64 DER ECDSA secp256k1 over the
SHA-256 of the raw body) and pages through the registered viewer's history."""
from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.sandbox.faults import Faults
from local.sandbox.server import SandboxServer
from tvreport.clients.gandalf import load_private_key

GQL_PATH = "/public/gql"
SIGNATURE_HEADER = "X-Gandalf-Signature"
MAX_LIMIT = 300  # the schema's cap on `limit`


class GandalfError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _json(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def public_key_pem(private_key_hex: str) -> bytes:
    """The PEM public key Gandalf holds for an app's private key (hex, 0x or not)."""
    return (
        load_private_key(private_key_hex)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def verify_signature(public_key: ec.EllipticCurvePublicKey | bytes | str, body: bytes, signature_b64: str) -> bool:
    """True when `signature_b64` signs `body` for `public_key` (a key object or PEM):
    what Gandalf checks of a request (the layer only signs)."""
    if isinstance(public_key, (bytes, str)):
        loaded = serialization.load_pem_public_key(public_key.encode() if isinstance(public_key, str) else public_key)
        if not isinstance(loaded, ec.EllipticCurvePublicKey):
            return False
        public_key = loaded
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def graphql_error(code: str, message: str, path: Sequence[str] = ("getActivity",)) -> dict:
    return {"errors": [{"message": message, "path": list(path), "extensions": {"code": code}}], "data": None}


class GandalfSandbox(SandboxServer):
    service = "gandalf"
    url_map = Map([Rule(GQL_PATH, endpoint="get_activity", methods=["POST"])])

    def __init__(
        self,
        catalogue_viewers: dict[str, list[dict]],
        public_key_pem: bytes,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(faults)
        public_key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256k1":
            raise ValueError("Gandalf signs with secp256k1: give its public key")
        self._public_key = public_key
        self._viewers_lock = threading.Lock()
        self._viewers: dict[str, list[dict]] = dict(catalogue_viewers)

    @property
    def gql_url(self) -> str:
        return self.url + GQL_PATH

    def register_viewer(self, data_key: str, activities: list[dict]) -> None:
        """Serve `activities` for `data_key` (a CSV viewer, a per-run key)."""
        with self._viewers_lock:
            self._viewers[data_key] = list(activities)

    # -- protocol ----------------------------------------------------------------
    def error_response(self, status: int) -> Response:
        # An overloaded GraphQL gateway answers 502 with a GraphQL-shaped body.
        return _json(graphql_error("INTERNAL_SERVER_ERROR", "upstream unavailable"), status=502)

    def rate_limited_response(self) -> Response:
        response = _json(graphql_error("RATE_LIMITED", "too many requests"), status=429)
        response.headers["Retry-After"] = str(self.faults.retry_after_s)
        return response

    def not_found_response(self, request: Request) -> Response:
        return _json({"errors": [{"message": f"Cannot {request.method} {request.path}"}]}, status=404)

    def get_activity(self, request: Request) -> Response:
        body = request.get_data(cache=True)
        try:
            self._verify_signature(body, request.headers.get(SIGNATURE_HEADER))
            variables = self._variables(body)
            return _json({"data": {"getActivity": self._page(variables)}})
        except GandalfError as error:
            return _json(graphql_error(error.code, error.message))

    def _verify_signature(self, body: bytes, signature_b64: str | None) -> None:
        if not signature_b64:
            raise GandalfError("INVALID_SIGNATURE", f"missing {SIGNATURE_HEADER} header")
        if not verify_signature(self._public_key, body, signature_b64):
            raise GandalfError("INVALID_SIGNATURE", "signature verification failed")

    @staticmethod
    def _variables(body: bytes) -> dict:
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise GandalfError("BAD_REQUEST", "body is not JSON") from None
        if not isinstance(document, dict) or "getActivity" not in str(document.get("query", "")):
            raise GandalfError("GRAPHQL_VALIDATION_FAILED", "only the getActivity query is served here")
        variables = document.get("variables")
        if not isinstance(variables, dict):
            raise GandalfError("BAD_USER_INPUT", "getActivity needs variables dataKey, source, limit, page")
        return variables

    def _page(self, variables: dict) -> dict:
        data_key, source = variables.get("dataKey"), variables.get("source")
        limit, page = variables.get("limit"), variables.get("page", 1)
        if not isinstance(data_key, str) or not data_key:
            raise GandalfError("BAD_USER_INPUT", "dataKey is required")
        if source != "NETFLIX":
            raise GandalfError("PROTOCOL_NOT_SUPPORTED", f"source {source!r} is not supported for activities")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            raise GandalfError("BAD_USER_INPUT", f"limit must be an integer between 1 and {MAX_LIMIT}")
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            raise GandalfError("BAD_USER_INPUT", "page must be an integer >= 1")
        with self._viewers_lock:
            history = self._viewers.get(data_key)
        if history is None:
            raise GandalfError("RECORD_NOT_FOUND", "no data found for the given dataKey")
        start = (page - 1) * limit
        return {
            "__typename": "ActivityResponse",
            "data": history[start : start + limit],
            "limit": limit,
            "total": len(history),
            "page": page,
        }
