"""The session commands of ``hingecoach``: sessions, report, export, import, forget,
pain, note, person, reanalyze. Thin shells over ``hingecoach.store`` and
``hingecoach.report``; ``cli.py`` registers them on the app."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from hingecoach.core.errors import HingecoachError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.store import SessionSummary, Store, StoreError, default_url, open_store
from hingecoach.store.convert import settings_from_json
from hingecoach.store.exchange import import_bundle, read_bundle, session_bundle, write_bundle
from hingecoach.store.markers import Markers, markers_of_stream, write_c3d, write_trc
from hingecoach.store.opensim import write_mot, write_sto
from hingecoach.store.paths import is_postgres, sqlite_path

out = Console()
err = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option(
    "--db", envvar="HINGECOACH_DB", show_default=False,
    help="the session store: a path or sqlite:///PATH, or postgresql://USER@HOST/DB "
         "(default: $HINGECOACH_HOME/hingecoach.db, see 'hingecoach sessions --help')")]


def fail(e: HingecoachError) -> NoReturn:
    """Print the error as one line and exit with its exit code."""
    err.print(f"[bold red]error:[/] {escape(str(e))}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(e.exit_code)


def store_of(db: str | None, create: bool = False) -> Store:
    """The store; only commands that add data create it (listing must not leave an
    empty database behind on a machine that never saved anything)."""
    return open_store(db, create=create)


def _n(x: float | None, fmt: str = ".1f") -> str:
    return "-" if x is None else f"{x:{fmt}}"


# the narrowest a cell may get in a narrow terminal (headers wrap at their spaces, a date
# at its time, a source file's name anywhere): nothing is cut and no column left out
_MIN_WIDTH = {"id": 2, "date (UTC)": 10, "person": 6, "source": 7, "status": 10, "reps": 4, "faulty": 6,
              "peak lumbar°": 7, "hinge° pelvis": 6, "hinge° hip": 6, "pain before→after": 7}


def session_table(rows: list[SessionSummary], title: str, width: int = 10_000) -> Table:
    """The sessions as a table that fits ``width`` columns when it can.

    The range of hinge is the median of the reps' peak pelvis tilt for IMU sessions and of
    their peak hip flexion for camera sessions: two measures, so two columns, each shown
    when a session has it (the pelvis one also when no session has either), and a caption
    that says which is which. When the table is wider than ``width`` its headers wrap,
    the padding and edges go (one space between columns) and long cells fold, so every
    column keeps its values whole."""
    table = _session_table(rows, title)
    console = Console(width=10_000)
    if Measurement.get(console, console.options, table).maximum <= width:
        return table
    return _session_table(rows, title, width)


def _session_table(rows: list[SessionSummary], title: str, narrow: int | None = None) -> Table:
    """The table; ``narrow``: the width to fit, each column at its narrowest and the
    source's file name taking what is left."""
    camera = any(r.hip_flexion_deg is not None for r in rows)
    pelvis = any(r.hinge_range_deg is not None for r in rows) or not camera
    hinge = [*(["hinge° pelvis"] if pelvis else []), *(["hinge° hip"] if camera else [])]
    measures = [w for w, on in (("pelvis tilt (sensors)", pelvis), ("hip flexion (camera)", camera)) if on]
    notes = [f"hinge°: median of the reps' peak {' / '.join(measures)}"]
    if camera:
        notes.append("a camera's peak lumbar° is its back bow (virtual dowel, camera scale)")
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, caption="; ".join(notes),
              caption_justify="left", padding=(0, 0) if narrow is not None else (0, 1), show_edge=narrow is None)
    cols = ("id", "date (UTC)", "person", "source", "status", "reps", "faulty", "peak lumbar°", *hinge,
            "pain before→after")
    widths = {**_MIN_WIDTH, "id": max([2, *(len(str(r.id)) for r in rows)])}
    widths["source"] = max(widths["source"], (narrow or 0) - sum(widths[c] for c in cols if c != "source")
                           - (len(cols) - 1))
    for col in cols:
        left = col in ("date (UTC)", "person", "source", "status")
        if narrow is not None:
            t.add_column(col.replace("→", " → "), justify="left" if left else "right", overflow="fold",
                         width=widths[col])
        else:
            t.add_column(col, justify="left" if left else "right", no_wrap=col != "source")
    for r in rows:
        values = [*([_n(r.hinge_range_deg)] if pelvis else []), *([_n(r.hip_flexion_deg)] if camera else [])]
        t.add_row(str(r.id), r.started_at[:16].replace("T", " "), r.person or "-",
                  Path(r.source).name or r.kind, "complete" if r.complete else "[yellow]incomplete[/]",
                  str(r.reps), str(r.faulty_reps), _n(r.peak_lumbar_flexion_deg), *values,
                  f"{_n(r.pain_before, 'd')} → {_n(r.pain_after, 'd')}")
    return t


def sessions(
    person: Annotated[str | None, typer.Option(help="only this person's sessions")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    db: DbOption = None,
) -> None:
    """List the stored sessions (oldest first).

    The store is one SQLite file, $HINGECOACH_HOME/hingecoach.db (default: the user data
    folder, ~/.local/share/hingecoach on Linux); nothing leaves this computer."""
    url = db or default_url()
    if not is_postgres(url) and not sqlite_path(url).exists() and person is None:
        if json_out:
            sys.stdout.write("[]\n")
        else:
            out.print(f"no sessions yet (no database at {url})", highlight=False)
        return
    try:
        with store_of(db) as st:
            rows = st.sessions(person)
            where = st.url
    except HingecoachError as e:
        fail(e)
    if json_out:
        sys.stdout.write(json.dumps([r.to_json() for r in rows], indent=1) + "\n")
        return
    console = out if out.is_terminal else Console(width=140)
    console.print(session_table(rows, f"{len(rows)} sessions in {where}", console.width))


def report(
    session_id: Annotated[int, typer.Argument(help="a session id (hingecoach sessions lists them)")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="the HTML report to write "
                                                "(default: session-ID.html)")] = None,
    pdf: Annotated[Path | None, typer.Option(help="also write a PDF")] = None,
    db: DbOption = None,
) -> None:
    """Write a session's report (self-contained HTML, optionally a PDF).

    One HTML file with the plots embedded, no network, readable when printed."""
    from hingecoach.report import write_report  # matplotlib: loaded only when a report is made

    html = output or Path(f"session-{session_id}.html")
    try:
        with store_of(db) as st:
            d = write_report(st, session_id, html=html, pdf=pdf)
    except HingecoachError as e:
        fail(e)
    status = "" if d.summary.complete else " (incomplete session)"
    out.print(f"wrote {html}" + (f" and {pdf}" if pdf else "") +
              f": session {session_id}{status}, {len(d.analysis.reps)} reps", highlight=False)


def _angles_of(st: Store, sid: int) -> TimeSeries:
    """The session's stored angles, or a StoreError saying there are none."""
    angles = st.stream(sid, "angles")
    if angles is None:
        raise StoreError(f"session {sid}: no angles stored to export")
    return angles


class ExportFormat(StrEnum):
    """The formats of ``hingecoach export``."""

    json = "json"
    csv = "csv"
    parquet = "parquet"
    mot = "mot"
    sto = "sto"
    trc = "trc"
    c3d = "c3d"


MARKER_FORMATS = (ExportFormat.trc, ExportFormat.c3d)


def _markers_of(st: Store, sid: int) -> Markers:
    """A camera session's stored landmarks as markers, in metres if its person's height
    is known; a StoreError for an IMU session or one stored without landmarks."""
    lm = st.stream(sid, "landmarks")
    if lm is None:
        rec = st.session(sid)
        if rec.info.get("placement") != "camera":
            raise StoreError(f"session {sid}: --format trc and c3d are for camera sessions (their landmarks); "
                             "for an IMU session use --format mot")
        raise StoreError(f"session {sid}: no landmarks stored (a camera session saved by an older "
                         "version, or a live one): analyse the video again with --save")
    height = None
    person = st.session(sid).summary.person
    p = st.person(person) if person else None
    if p is not None and "height_cm" in p.thresholds:
        height = float(p.thresholds["height_cm"]["value"]) / 100.0
    return markers_of_stream(lm, height)


def export(
    session_id: Annotated[int, typer.Argument(help="a session id")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="json: one file; csv, parquet: a "
                                              "folder with session.json and one file per table")
                   ] = ExportFormat.json,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file or folder to write "
                                                "(default: session-ID.json or session-ID-FORMAT/)")
                      ] = None,
    db: DbOption = None,
) -> None:
    """Export a session losslessly ('hingecoach import' reads it back).

    Facts, reps, cues, events, pain, notes, raw samples and angles. --format mot writes the
    angles only, as an OpenSim motion file (OpenSim's coordinate names and signs); --format
    sto the two sensors' orientations (9-axis sessions), as OpenSense reads them. --format trc
    and c3d a camera session's landmarks as markers (metres when the person's --height-cm
    is set, pixels otherwise)."""
    if fmt in (*MARKER_FORMATS, ExportFormat.mot, ExportFormat.sto):
        target = output or Path(f"session-{session_id}.{fmt.value}")
    else:
        target = output or Path(f"session-{session_id}.json" if fmt is ExportFormat.json
                                else f"session-{session_id}-{fmt.value}")
    try:
        with store_of(db) as st:
            if fmt is ExportFormat.mot:
                files = [write_mot(target, _angles_of(st, session_id))]
            elif fmt is ExportFormat.sto:
                files = [write_sto(target, st.stream(session_id, "raw"), st.stream(session_id, "angles"),
                                   st.stream(session_id, "calibration"))]
            elif fmt in MARKER_FORMATS:
                m = _markers_of(st, session_id)
                files = [(write_trc if fmt is ExportFormat.trc else write_c3d)(target, m)]
            else:
                files = write_bundle(session_bundle(st, session_id), fmt.value, target)
    except HingecoachError as e:
        fail(e)
    size = sum(f.stat().st_size for f in files) / 1e6
    out.print(f"wrote {target} ({len(files)} file(s), {size:.1f} MB)", highlight=False)


def import_(
    path: Annotated[Path, typer.Argument(help="a JSON export, or a CSV or Parquet export folder")],
    db: DbOption = None,
) -> None:
    """Import an exported session (from this or another computer or store)."""
    try:
        doc = read_bundle(path)
        with store_of(db, create=True) as st:
            sid = import_bundle(st, doc, str(path))
            s = st.summary(sid)
    except HingecoachError as e:
        fail(e)
    out.print(f"imported {path} as session {sid} ({s.person or 'no person'}, {s.reps} reps)",
              highlight=False)


def forget(
    person: Annotated[str, typer.Argument(help="the person's name or pseudonym")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    db: DbOption = None,
) -> None:
    """Delete a person and all their sessions, recordings, pain ratings and notes."""
    try:
        with store_of(db) as st:
            rows = st.sessions(person)
            if not yes:
                if not sys.stdin.isatty():
                    raise StoreError(f"forget {person!r}: would delete {len(rows)} session(s); "
                                     "confirm with --yes (no terminal to ask)")
                if not typer.confirm(f"Delete {person!r} and {len(rows)} session(s) from {st.url}? "
                                     "This cannot be undone", default=False):
                    out.print("nothing removed")
                    raise typer.Exit(1)
            rep = st.forget(person)
    except HingecoachError as e:
        fail(e)
    out.print(rep.describe(), highlight=False)


def pain(
    session_id: Annotated[int, typer.Argument(help="a session id")],
    before: Annotated[int | None, typer.Option(min=0, max=10, help="pain before the session, 0-10")] = None,
    after: Annotated[int | None, typer.Option(min=0, max=10, help="pain after the session, 0-10")] = None,
    next_morning: Annotated[int | None, typer.Option(min=0, max=10, help="pain the next morning")] = None,
    note: Annotated[str, typer.Option(help="a note with the rating")] = "",
    db: DbOption = None,
) -> None:
    """Record pain ratings (0-10) for a session."""
    given = {"before": before, "after": after, "next_morning": next_morning}
    if all(v is None for v in given.values()):
        fail(HingecoachError("pain: expected --before, --after or --next-morning, found none"))
    try:
        with store_of(db) as st:
            for moment, v in given.items():
                if v is not None:
                    st.add_pain(session_id, v, moment, note=note)
            s = st.summary(session_id)
    except HingecoachError as e:
        fail(e)
    out.print(f"session {session_id}: pain before {_n(s.pain_before, 'd')}, after "
              f"{_n(s.pain_after, 'd')}", highlight=False)
    worst = max(v for v in given.values() if v is not None)
    if worst > 5:
        out.print("Pain above 5 of 10 is not acceptable: stop, check your form, make the exercise "
                  "easier; if pain continues, see a doctor or physical therapist before trying again.")


def note(
    session_id: Annotated[int, typer.Argument(help="a session id")],
    text: Annotated[str, typer.Argument(help="the note")],
    author: Annotated[str, typer.Option(help="who wrote it")] = "",
    db: DbOption = None,
) -> None:
    """Add a note to a session (shown in its report)."""
    try:
        with store_of(db) as st:
            st.add_note(session_id, text, author)
    except HingecoachError as e:
        fail(e)
    out.print(f"session {session_id}: note added")


def person(
    name: Annotated[str, typer.Argument(help="a name or pseudonym")],
    rounding_deg: Annotated[float | None, typer.Option(help="lumbar_rounding threshold, degrees")] = None,
    share_of_max: Annotated[float | None, typer.Option(
        help="lumbar_rounding at this share of the calibrated maximum flexion")] = None,
    too_fast_s: Annotated[float | None, typer.Option(help="too_fast below this 10-90 % descent time")] = None,
    placement: Annotated[str | None, typer.Option(help="upper sensor at L1, T12, T8 or neck")] = None,
    exercise: Annotated[str | None, typer.Option(help="hinge, deadlift or swing")] = None,
    height_cm: Annotated[float | None, typer.Option(
        help="body height in cm: camera sessions export their landmarks in metres (--format trc/c3d)")] = None,
    clear: Annotated[list[str] | None, typer.Option(help="remove a threshold (e.g. lumbar_rounding_deg)")] = None,
    set_by: Annotated[str, typer.Option(help="who sets these thresholds or clears a red flag "
                                             "(e.g. the clinician)")] = "",
    clear_red_flag: Annotated[list[str] | None, typer.Option(
        help="a clinician clears this red flag of the safety screen after seeing the person (soon or "
             "review flags, e.g. cancer_history; needs --set-by)")] = None,
    unclear_red_flag: Annotated[list[str] | None, typer.Option(
        help="revoke a red flag's clearance: the screen asks it as new again (needs --set-by)")] = None,
    note: Annotated[str, typer.Option(help="why the red flag was cleared or revoked")] = "",
    db: DbOption = None,
) -> None:
    """Show a person, or set the thresholds a clinician chose for them.

    'hingecoach analyze --person NAME' then uses them; a new name creates the person."""
    from hingecoach.coach.screen import clear_red_flag as clear_flag
    from hingecoach.coach.screen import unclear_red_flag as unclear_flag

    values: dict[str, Any] = {"lumbar_rounding_deg": rounding_deg, "share_of_max": share_of_max,
                              "too_fast_s": too_fast_s, "placement": placement, "exercise": exercise,
                              "height_cm": height_cm}
    try:
        with store_of(db, create=True) as st:
            if any(v is not None for v in values.values()) or clear:
                p = st.set_thresholds(name, values, set_by=set_by, clear=clear or [])
            else:
                p = st.person(name) or st.ensure_person(name)
            for f in unclear_red_flag or []:
                unclear_flag(st, p.name, f, by=set_by, reason=note)
            for f in clear_red_flag or []:
                clear_flag(st, p.name, f, set_by=set_by, note=note)
            n = len(st.sessions(p.name))
            held = st.clearances(p.name)
    except HingecoachError as e:
        fail(e)
    out.print(f"{p.name}: {n} session(s), since {p.created_at[:10]}", highlight=False)
    if not p.thresholds:
        out.print("  no personal thresholds (the defaults apply)")
    for k, v in sorted(p.thresholds.items()):
        who = f" by {v['set_by']}" if v.get("set_by") else ""
        out.print(f"  {k} = {v['value']} (set{who} on {str(v.get('set_at', ''))[:10]})", highlight=False)
    for c in held:
        why = f": {c.note}" if c.note else ""
        out.print(f"  red flag {c.flag} cleared by {c.set_by} on {c.cleared_at[:10]}{why}", highlight=False)


def reanalyze(
    session_id: Annotated[int, typer.Argument(help="a session with its raw recording stored")],
    save: Annotated[bool, typer.Option("--save", help="store the new analysis as a new session")] = False,
    db: DbOption = None,
) -> None:
    """Analyse a stored session's raw recording again with this version's code.

    Compares the reps and faults with what was stored."""
    try:
        with store_of(db) as st:
            old = st.session(session_id)
            new = st.reanalyze(session_id)
            sid = None
            if save:
                raw = st.stream(session_id, "raw")
                cal = st.stream(session_id, "calibration")
                sid = st.save_analysis(new, raw=raw, calibration=cal, person=old.summary.person,
                                       settings=settings_from_json(old.settings),
                                       source=old.summary.source, device=old.summary.device,
                                       kind="reanalysis", extra={"reanalysis_of": old.summary.uid})
    except HingecoachError as e:
        fail(e)
    before = [m for m in old.reps if m.complete]
    same = len(before) == len(new.reps) and all(
        a.faults == b.faults and abs(a.end_s - b.end_s) < 1e-6 for a, b in zip(before, new.reps, strict=True))
    out.print(f"session {session_id} (hingecoach {old.software_version}): {len(before)} reps, "
              f"{sum(1 for m in before if m.faults)} faulty; now (this version): {len(new.reps)} reps, "
              f"{sum(1 for m in new.reps if m.faults)} faulty; "
              + ("the same reps and faults" if same else "reps or faults differ"), highlight=False)
    if sid is not None:
        out.print(f"saved as session {sid}")


COMMANDS: list[tuple[Callable[..., None], str]] = [
    (sessions, "sessions"), (report, "report"), (export, "export"), (import_, "import"),
    (forget, "forget"), (pain, "pain"), (note, "note"), (person, "person"), (reanalyze, "reanalyze"),
]

__all__ = ["COMMANDS", "DbOption", "default_url", "fail", "store_of"]
