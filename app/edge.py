"""What every request passes before any route: the Host allow-list, a same-origin rule, an access log.

- Host: only the configured names (loopback names, the bind address, ``MIMIR_ALLOWED_HOSTS``), so
  a DNS name rebound to 127.0.0.1 cannot reach the server from a web page.
- Origin: a request that a browser marks as coming from another site (``Origin``, ``Referer`` or
  ``Sec-Fetch-Site``) is refused when it could change something (any method but GET/HEAD/OPTIONS),
  and any request with a foreign ``Origin`` is refused too (no credentialed cross-origin reads,
  e.g. of Gradio's ``/config``). This holds with or without a token.
- Access log: method, route template, status and time; never the path's values or the query
  string, which carry patient keys and names.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mimir.app.security import LOOPBACK_NAMES
from mimir.settings import Settings

access_log = logging.getLogger("mimir.access")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def allowed_hosts(settings: Settings) -> set[str]:
    """Host names (without port) the server answers to."""
    names = {*LOOPBACK_NAMES, *(h.lower() for h in settings.allowed_hosts)}
    if settings.host not in ("0.0.0.0", "::", ""):
        names.add(settings.host.lower())
    return names


def host_name(netloc: str) -> str:
    """'Example.org:7860' -> 'example.org'; '[::1]:7860' -> '::1'."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0]
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


class EdgeGuard:
    """ASGI middleware: Host allow-list and same-origin rule for HTTP and WebSocket requests."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = allowed_hosts(settings)
        self.public = {h.lower() for h in settings.allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an unknown Host (400) or a cross-site request (403); pass the rest on."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if host_name(host) not in self.hosts:
            await _refuse(scope, receive, send, 400, "Unknown Host header; set MIMIR_ALLOWED_HOSTS to the name clients use")
            return
        if self._cross_site(scope, headers, host):
            await _refuse(scope, receive, send, 403, "Cross-site request refused")
            return
        await self.app(scope, receive, send)

    def _same_origin(self, url: str, host: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        return parts.netloc.lower() == host.lower() or (parts.hostname or "") in self.public

    def _cross_site(self, scope: Scope, headers: Headers, host: str) -> bool:
        origin = headers.get("origin")
        if origin is not None and not self._same_origin(origin, host):
            return True
        if scope["type"] == "http" and scope["method"] in SAFE_METHODS:
            return False
        if headers.get("sec-fetch-site", "") in ("cross-site", "same-site"):
            return True
        referer = headers.get("referer")
        return origin is None and referer is not None and not self._same_origin(referer, host)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, reason: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await PlainTextResponse(reason, status_code=status)(scope, receive, send)


class AccessLog:
    """ASGI middleware: one log line per request with the route template, never its values."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, then log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            access_log.info("%s %s %d %.0f ms", scope["method"], route_template(scope), status,
                            (time.perf_counter() - start) * 1000)


def route_template(scope: Scope) -> str:
    """The matched route's template ('/api/patients/{patient_key}/timeline'), else the first path segment."""
    template = getattr(scope.get("route"), "path", None)
    if template:
        return str(template)
    first = str(scope.get("path", "/")).split("/")[1]
    return f"/{first}/…" if first else "/"
