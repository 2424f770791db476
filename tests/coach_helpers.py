"""Scripted programme sessions for the coach and web tests."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from hingecoach.coach.drive import TerminalIo, drive
from hingecoach.coach.live_bridge import Factory
from hingecoach.coach.script import Script
from hingecoach.coach.session import Outcome, ProgrammeSession
from hingecoach.store import Store

NO_FLAGS = {"saddle_numbness": False, "bladder_bowel": False, "leg_weakness": False, "recent_trauma": False,
            "fever_weight_loss": False, "cancer_history": False}


def toml(doc: dict[str, Any]) -> str:
    """A --script file from a dict (top-level keys first, then tables, then [[sets]])."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    for k, v in doc.items():
        if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict)):
            lines.append(f"{k} = {value(v)}")
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{kk} = {value(vv)}" for kk, vv in v.items()]
    for k, v in doc.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines.append(f"[[{k}]]")
                lines += [f"{kk} = {value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


def run_session(store: Store, person: str, doc: dict[str, Any], tmp: Path, *,
                source: str | None = None, factory: Factory | None = None) -> tuple[Outcome, str]:
    """Run one session from a script dict (``factory``: the live session on ``source``);
    returns the outcome and what was printed."""
    path = tmp / f"script-{len(list(tmp.glob('script-*.toml')))}.toml"
    path.write_text(toml(doc), encoding="utf-8")
    buf = io.StringIO()
    ps = ProgrammeSession(store, person, source=source or "", kind=doc.get("sensor", "imu"))
    out = drive(ps, TerminalIo(Console(file=buf, width=200)), source=source, script=Script.load(path),
                factory=factory)
    return out, buf.getvalue()


def clean_sets(n: int, pain: int = 1) -> list[dict[str, Any]]:
    return [{"reps": 5, "pain": pain} for _ in range(n)]


def session_doc(sets: list[dict[str, Any]], *, pain_now: int = 1, pain_after: int = 1,
                screen: bool = True, **more: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"pain_now": pain_now, "pain_after": pain_after, **more}
    if screen:
        doc["screen"] = dict(NO_FLAGS)
    doc["sets"] = sets
    return doc
