"""Gandalf Connect: the URL that sends a person to link their Netflix account, and the
public key that identifies this app in it.

The URL follows Gandalf's own Connect SDKs (`@gandalf-network/connect` `encodeComponents`,
and the Go SDK's): query parameters `publicKey`, `redirectUrl` (no trailing slash) and
`data`, the standard base64 of the JSON object of services asked for. Gandalf sends the
person back to `redirectUrl` with `?dataKey=...` added."""
from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization

# Netflix viewing activity (the SDK examples spell it `"netflix": {"activities": ["watch"]}`).
NETFLIX_SERVICES: dict[str, Any] = {"netflix": {"activities": ["watch"]}}


def public_key_hex(private_key_hex: str) -> str:
    """The app's public key as Gandalf's SDK examples show it: `0x` + the compressed
    secp256k1 point (33 bytes, 66 hex digits)."""
    from tvreport.clients.gandalf import load_private_key  # with httpx: only when a key is needed

    point = load_private_key(private_key_hex).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    return "0x" + point.hex()


def connect_url(base_url: str, public_key: str, redirect_url: str,
                services: dict[str, Any] = NETFLIX_SERVICES) -> str:
    """The Connect URL; query parameters already on `base_url` are kept."""
    data = base64.b64encode(json.dumps(services, separators=(",", ":")).encode()).decode()
    parts = urlsplit(base_url)
    query = urlencode({"publicKey": public_key, "redirectUrl": redirect_url.rstrip("/"), "data": data})
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


def public_base_url(event: dict[str, Any]) -> str:
    """This API's public base URL from an API Gateway REST proxy event: scheme from
    X-Forwarded-Proto, the Host header, and the prefix the client saw before the
    resource path (`/<stage>` on the execute-api domain, a base path or nothing on a
    custom domain): requestContext.path minus the event's path."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    scheme = headers.get("x-forwarded-proto", "https")
    host = headers.get("host") or (event.get("requestContext") or {}).get("domainName", "")
    seen = (event.get("requestContext") or {}).get("path") or ""
    path = event.get("path") or ""
    prefix = seen[: len(seen) - len(path)] if path and seen.endswith(path) else ""
    return f"{scheme}://{host}{prefix.rstrip('/')}"
