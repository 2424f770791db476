"""Warnings with a code: code decides by the code, people read the text.

A ``Notice`` keeps the two apart, so a caller that drops or counts a kind of warning
tests ``notice.code`` and never the words, which may be reworded at will.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    """One warning: a stable ``code`` (snake_case) and the ``text`` shown to the person."""

    code: str
    text: str

    def __str__(self) -> str:
        return self.text


def texts(notices: tuple[Notice, ...] | list[Notice]) -> list[str]:
    """The texts of ``notices``, in order (what the JSON and the console show)."""
    return [n.text for n in notices]
