"""Who may reach the server: loopback by default; any other address needs an auth token."""

from __future__ import annotations

import ipaddress
import os
import secrets

from fastapi import HTTPException, Request, status

from mimir.settings import Settings

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    """True for localhost and any address in 127.0.0.0/8 or ::1."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings) -> None:
    """Refuse to listen off loopback unless authentication is configured."""
    if not is_loopback(settings.host) and not settings.auth_token:
        raise SystemExit(
            f"Refusing to listen on {settings.host}: set MIMIR_AUTH_TOKEN to require a bearer token, "
            "or listen on 127.0.0.1 (the default)."
        )


def private_files() -> None:
    """Create every later file 0600 and folder 0700: the process holds patient data."""
    os.umask(0o077)


def token_guard(settings: Settings):  # FastAPI dependency factory
    """A FastAPI dependency that checks ``Authorization: Bearer <token>`` when a token is set."""

    def guard(request: Request) -> None:
        if not settings.auth_token:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        cookie = request.cookies.get("mimir_token", "")
        ok = (scheme.lower() == "bearer" and secrets.compare_digest(given, settings.auth_token)) or (
            cookie and secrets.compare_digest(cookie, settings.auth_token)
        )
        if not ok:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token")

    return guard
