"""Identifiers from requests, checked at the edge against one allow-list.

Patient keys, thread ids and uploaded file names arrive as strings. Each is checked against
:data:`IDENTIFIER_PATTERN` before anything looks it up, and none of them is ever used to build a
filesystem path: the server names every file it writes.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import Path as PathParam
from pydantic import StringConstraints

#: A word character first (never '.', '/', '-'), then word characters, spaces and a few marks seen
#: in DICOM patient ids and file names; no slash, backslash, control character or quote. 1-128 long.
IDENTIFIER_PATTERN = r"^\w[\w .:@^+=,()\[\]-]{0,127}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)

#: The allow-list type for request fields (pydantic models).
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=128)]
#: A thread id: an identifier short enough for the thread table (the server's own are 32 hex digits).
ThreadId = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=64)]
#: The same rules for path parameters of the HTTP API.
PatientKeyParam = Annotated[str, PathParam(pattern=IDENTIFIER_PATTERN, max_length=128)]
ThreadIdParam = Annotated[str, PathParam(pattern=IDENTIFIER_PATTERN, max_length=64)]


def is_identifier(value: str, max_length: int = 128) -> bool:
    """True when ``value`` passes the allow-list (and is at most ``max_length`` long)."""
    return len(value) <= max_length and _IDENTIFIER.fullmatch(value) is not None


def new_thread_id() -> str:
    """A fresh thread id chosen by the server."""
    return uuid.uuid4().hex


def display_name(client_name: str | None, fallback: str) -> str:
    """An uploaded file's base name if it passes the allow-list, else ``fallback`` (never a path)."""
    base = (client_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return base if is_identifier(base) else fallback
