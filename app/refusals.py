"""What the app refuses, by kind; the HTTP layer maps each to one status code.

- :class:`NotFound` (404): a patient, image, thread or tool run that does not exist.
- :class:`~mimir.memory.registration.PatientMismatch` (409): objects of different patients combined.
- :class:`BadInput` (400): a request the app cannot act on as given.
- :class:`TooLarge` (413): over a size, pixel or voxel limit.
- :class:`Unreadable` (422): a stored file that can no longer be read (deleted, truncated).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mimir.memory.registration import PatientMismatch

#: Validation errors reported per response, at most.
MAX_ERRORS = 10


class NotFound(LookupError):
    """A patient, image, thread or tool run that does not exist."""


class BadInput(ValueError):
    """The request cannot be acted on as given."""


class TooLarge(BadInput):
    """The request or upload is over a size, pixel or voxel limit."""


class Unreadable(ValueError):
    """A stored file that cannot be read any more."""


__all__ = ["BadInput", "NotFound", "PatientMismatch", "TooLarge", "Unreadable", "install_handlers"]

STATUS: dict[type[Exception], int] = {NotFound: 404, PatientMismatch: 409, BadInput: 400, TooLarge: 413,
                                      Unreadable: 422}


def install_handlers(app: FastAPI) -> None:
    """Map the app's refusals to status codes, and keep validation errors short (no input echoed)."""
    for kind, status in STATUS.items():
        app.add_exception_handler(kind, _handler(status))
    app.add_exception_handler(RequestValidationError, _validation_error)


def _handler(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": _clip(str(exc))}, status_code=status)

    return handle


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    """422 with at most 10 errors of at most 300 characters each, without the offending input."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [{"loc": [str(p)[:64] for p in e.get("loc", ())][:8], "msg": _clip(str(e.get("msg", ""))),
               "type": str(e.get("type", ""))[:64]} for e in errors[:MAX_ERRORS]]
    return JSONResponse({"detail": detail}, status_code=422)


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
