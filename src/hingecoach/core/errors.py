"""Errors that reach the person as one line.

Every error raised for bad input names where (file, line, column or channel), what was
expected and what was found. The CLI prints ``str(error)`` and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path


class HingecoachError(Exception):
    """Base class: an error the user can act on; printed as one line, exit code 2."""

    exit_code = 2


class InputError(HingecoachError):
    """Bad input: a file, a column, a parameter.

    >>> str(InputError("walk.csv", "expected a number", "'abc'", line=12, column="lower_acc_x"))
    "walk.csv, line 12, column 'lower_acc_x': expected a number, found 'abc'"
    """

    def __init__(
        self,
        source: str | Path,
        expected: str,
        found: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.source = str(source)
        self.expected = expected
        self.found = found
        self.line = line
        self.column = column
        where = [self.source]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: expected {expected}, found {found}")


class ParameterError(HingecoachError):
    """A parameter out of its range: names the parameter, what was expected and what came."""

    def __init__(self, name: str, expected: str, found: object) -> None:
        self.name = name
        super().__init__(f"{name}: expected {expected}, found {found!r}")


class NotFoundError(HingecoachError):
    """A named thing (a session, a person, a file in the store) does not exist.

    Callers that answer "not found" (the web app's 404) test for this type, never for the
    message's words.
    """


class ConflictError(HingecoachError):
    """The request clashes with the current state (a session already running, none to stop)."""


class ExtraMissingError(HingecoachError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __init__(self, extra: str, module: str, purpose: str | None = None) -> None:
        self.extra = extra
        self.module = module
        from hingecoach.core.extras import install_hint

        what = purpose or f"this needs the {extra!r} extra"
        super().__init__(f"{what}: {module} is not installed; {install_hint(extra)}")
