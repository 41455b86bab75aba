"""Receive a multipart upload straight into a staging folder, part by part, as it streams in.

Nothing is spooled elsewhere (no server temp folder) and nothing is held in memory: each chunk is
written to its file as it arrives, the route's body limit stops an oversized request while it is
read, and an upload that ends before its closing boundary (a client that went away) is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from mimir.app.ids import display_name
from mimir.app.uploads import IncomingFile, UploadRejected, UploadTooLarge

#: The form field that carries files.
FIELD = b"files"
MAX_PARTS = 10_000


class _Parts:
    """Parser callbacks: each part of field ``files`` becomes one staged file."""

    def __init__(self, into: Path) -> None:
        self.into = into
        self.files: list[IncomingFile] = []
        self.headers: dict[bytes, bytes] = {}
        self._field = self._value = b""
        self._out: IO[bytes] | None = None
        self._name = ""
        self.complete = False

    def on_part_begin(self) -> None:
        self.headers, self._field, self._value = {}, b"", b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if options.get(b"name") != FIELD or b"filename" not in options:
            raise UploadRejected("send files as multipart/form-data parts named 'files'")
        n = len(self.files)
        if n >= MAX_PARTS:
            raise UploadTooLarge(f"more than {MAX_PARTS} files in one upload")
        self._name = display_name(options[b"filename"].decode("utf-8", "replace"), f"file {n + 1}")
        self._out = (self.into / f"incoming-{n:05d}").open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None:
            self._out.write(data[start:end])

    def on_part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self.files.append(IncomingFile(name=self._name, path=Path(self._out.name)))
            self._out = None

    def on_end(self) -> None:
        self.complete = True

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


async def receive_files(request: Request, into: Path) -> list[IncomingFile]:
    """Stream the request's ``files`` parts into ``into``; UploadRejected if malformed or cut short."""
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadRejected("send multipart/form-data with one or more parts named 'files'")
    parts = _Parts(into)
    callbacks = {name: getattr(parts, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
        "on_part_data", "on_part_end", "on_end")}
    parser = MultipartParser(options[b"boundary"], callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            if chunk:
                await anyio.to_thread.run_sync(parser.write, chunk)
        parser.finalize()
    except MultipartParseError as e:
        raise UploadRejected(f"the upload is not valid multipart/form-data: {e}") from e
    finally:
        parts.close()
    if not parts.complete:
        raise UploadRejected("the upload ended before its last part; nothing was stored")
    return parts.files
