"""Gandalf Connect stand-in: the page a Connect URL opens, on loopback.

It reads a Connect URL as Gandalf's SDKs write it (`publicKey`, `redirectUrl`, `data` =
base64 JSON of the services asked for), checks the public key is the app's (the key
pair the Gandalf sandbox verifies signatures with) and that Netflix activity is asked
for, and offers the sandbox viewer profiles. "Linking" one registers a copy of that
profile's history in the Gandalf sandbox under a fresh dataKey and sends the browser
to `redirectUrl?dataKey=...`, as Gandalf does."""
from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.sandbox.faults import Faults
from local.sandbox.server import SandboxServer

LinkViewer = Callable[[str], str]  # profile name -> a fresh dataKey the Gandalf sandbox serves


class ConnectError(ValueError):
    pass


def read_connect_request(args: dict[str, str], app_public_key: str) -> tuple[str, dict]:
    """(redirectUrl, services) of a valid Connect URL; ConnectError says what is wrong."""
    public_key, redirect_url, data = args.get("publicKey"), args.get("redirectUrl"), args.get("data")
    if not public_key or not redirect_url or not data:
        raise ConnectError("a Connect URL needs publicKey, redirectUrl and data")
    if public_key.lower() != app_public_key.lower():
        raise ConnectError("publicKey is not a registered app's key")
    parts = urlsplit(redirect_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConnectError("redirectUrl must be an http(s) URL")
    try:
        services = json.loads(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        raise ConnectError("data must be base64 of a JSON object of services") from None
    netflix = services.get("netflix") if isinstance(services, dict) else None
    if netflix is not True and not (isinstance(netflix, dict) and (netflix.get("activities") or netflix.get("traits"))):
        raise ConnectError("data asks for no Netflix activities or traits")
    return redirect_url, services


def with_data_key(redirect_url: str, data_key: str) -> str:
    parts = urlsplit(redirect_url)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("dataKey", data_key)]
    return urlunsplit(parts._replace(query=urlencode(query)))


class ConnectSandbox(SandboxServer):
    service = "connect"
    url_map = Map([Rule("/", endpoint="connect_page", methods=["GET"]),
                   Rule("/link", endpoint="link", methods=["POST"])])

    def __init__(self, app_public_key: str, profiles: list[str], link_viewer: LinkViewer,
                 faults: Faults | None = None) -> None:
        super().__init__(faults)
        self.app_public_key = app_public_key
        self.profiles = profiles
        self._link_viewer = link_viewer
        self.linked: list[str] = []  # profile names, in order (for tests)

    def connect_page(self, request: Request) -> Response:
        args = dict(request.args)
        try:
            read_connect_request(args, self.app_public_key)
        except ConnectError as error:
            return _page("Connect link not valid", f"<p class=error>{html.escape(str(error))}</p>", status=400)
        hidden = "".join(f'<input type=hidden name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in args.items() if k in ("publicKey", "redirectUrl", "data"))
        buttons = "".join(f'<button name=viewer value="{html.escape(p)}">Link the {html.escape(p)} viewer</button>'
                          for p in self.profiles)
        return _page("Link your Netflix account",
                     "<p>Gandalf Connect sandbox: pick a viewer to share their Netflix viewing activity.</p>"
                     f'<form method=post action="link">{hidden}{buttons}</form>')

    def link(self, request: Request) -> Response:
        form = dict(request.form)
        try:
            redirect_url, _ = read_connect_request(form, self.app_public_key)
        except ConnectError as error:
            return _page("Connect link not valid", f"<p class=error>{html.escape(str(error))}</p>", status=400)
        profile = form.get("viewer", "")
        if profile not in self.profiles:
            return _page("Unknown viewer", f"<p class=error>no viewer {html.escape(profile)!s}</p>", status=400)
        data_key = self._link_viewer(profile)
        self.linked.append(profile)
        # 303: the browser follows a POST's redirect with a GET, as after Gandalf's own form
        return Response(status=303, headers={"Location": with_data_key(redirect_url, data_key)})


def fresh_data_key() -> str:
    return secrets.token_urlsafe(24)


def _page(title: str, body: str, status: int = 200) -> Response:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:30rem;"
        "margin:2rem auto;padding:0 1rem}button{display:block;width:100%;margin:.5rem 0;padding:.8rem;"
        "font-size:1rem;border-radius:.5rem;border:0;background:#5b3cc4;color:#fff}.error{color:#b00020}"
        f"</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(document, status=status, mimetype="text/html")
