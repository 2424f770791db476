"""HTTP status codes for the package's errors, by type: one handler for the whole app.

Every error reaches the page as ``{"detail": "<one line>"}``; the status says what kind
of problem it was, so a page or a script tests the code, never the words.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from hingecoach.core.errors import ConflictError, HingecoachError, NotFoundError, ParameterError
from hingecoach.core.numbers import finite_or_none
from hingecoach.web.uploads import TooLarge

# The first type that matches wins; anything else the person can act on is a 400.
STATUS_BY_TYPE: tuple[tuple[type[HingecoachError], int], ...] = (
    (ConflictError, 409),  # does not fit the session's current step
    (NotFoundError, 404),  # no such session or person
    (ParameterError, 422),  # a value out of its range (as FastAPI's own validation)
    (TooLarge, 413),  # an upload over the size limit
)
OTHER_STATUS = 400


def status_for(error: HingecoachError) -> int:
    """The HTTP status code answering ``error``."""
    return next((status for kind, status in STATUS_BY_TYPE if isinstance(error, kind)), OTHER_STATUS)


async def hingecoach_error(request: Request, error: Exception) -> JSONResponse:
    """An error raised by an endpoint, as JSON with its status code."""
    status = status_for(error) if isinstance(error, HingecoachError) else OTHER_STATUS
    return JSONResponse({"detail": str(error)}, status_code=status)


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's own 422 for a body that fails validation, with a NaN or infinite input
    (Python's JSON reads ``NaN`` and ``Infinity``) shown as null: JSON cannot carry it."""
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": finite_or_none(jsonable_encoder(error.errors()))}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every HingecoachError raised by an endpoint through ``hingecoach_error``,
    and validation errors through ``validation_error``."""
    app.add_exception_handler(HingecoachError, hingecoach_error)
    app.add_exception_handler(RequestValidationError, validation_error)
