"""Reading a Connect URL back, as a Connect page does (the tests' check of
tvreport.connect.connect_url)."""
from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit


def decode_connect_url(url: str) -> dict[str, Any]:
    """publicKey, redirectUrl and the services asked for (the base64 JSON `data`)."""
    query = {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}
    return {"publicKey": query.get("publicKey"), "redirectUrl": query.get("redirectUrl"),
            "services": json.loads(base64.b64decode(query["data"])) if "data" in query else None}
