"""HTTP status codes for the package's errors, by type: one handler for the whole app.

Every error reaches the page as ``{"detail": "<one line>"}``; the status says what kind
of problem it was, so a page or a script tests the code, never the words.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hingecoach.core.errors import ConflictError, HingecoachError, NotFoundError, ParameterError

# The first type that matches wins; anything else the person can act on is a 400.
STATUS_BY_TYPE: tuple[tuple[type[HingecoachError], int], ...] = (
    (ConflictError, 409),  # does not fit the session's current step
    (NotFoundError, 404),  # no such session or person
    (ParameterError, 422),  # a value out of its range (as FastAPI's own validation)
)
OTHER_STATUS = 400


def status_for(error: HingecoachError) -> int:
    """The HTTP status code answering ``error``."""
    return next((status for kind, status in STATUS_BY_TYPE if isinstance(error, kind)), OTHER_STATUS)


async def hingecoach_error(request: Request, error: Exception) -> JSONResponse:
    """An error raised by an endpoint, as JSON with its status code."""
    status = status_for(error) if isinstance(error, HingecoachError) else OTHER_STATUS
    return JSONResponse({"detail": str(error)}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every HingecoachError raised by an endpoint through ``hingecoach_error``."""
    app.add_exception_handler(HingecoachError, hingecoach_error)
