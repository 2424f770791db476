"""The rep table of ``hingecoach analyze``: the reps' times, peak angles by source and
faults, folded to the terminal's width without ever cutting a fault id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich import box
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from hingecoach.analysis import Analysis
from hingecoach.core.vocabulary import CAMERA


def fault_abbreviations(names: Iterable[str]) -> dict[str, str]:
    """A short, unique code per fault id for a narrow terminal: the initials of its words
    (``lumbar_rounding`` -> ``LR``), numbered when two ids share them."""
    out: dict[str, str] = {}
    for name in sorted(set(names)):
        code = "".join(w[:1] for w in name.split("_") if w).upper() or name[:2].upper()
        k, base = 2, code
        while code in out.values():
            code, k = f"{base}{k}", k + 1
        out[name] = code
    return out


def rep_tables(a: Analysis, console: Console) -> list[RenderableType]:
    """The rep table as it fits ``console``: fault ids in full when the table fits its
    width, else as short codes with a legend below that spells each one out; a fault id is
    never cut (and without a fault there is nothing to shorten nor a legend to print)."""
    table = rep_table(a)
    need = Measurement.get(console, console.options.update_width(10_000), table).minimum
    short = fault_abbreviations(f for m in a.reps for f in m.faults)
    if need <= console.width or not short:
        return [table]
    legend = ", ".join(f"{code} = {name}" for name, code in short.items())
    return [rep_table(a, short), Text(f"faults: {legend}")]


def rep_table(a: Analysis, short: Mapping[str, str] | None = None) -> Table:
    """The reps as a table: times, the peak angles of the sensor kind, faults (``short``:
    a code per fault id, for a narrow terminal)."""
    t = Table(title=f"{len(a.reps)} reps (times in s, angles in deg)", title_justify="left",
              box=box.SIMPLE_HEAD)
    camera = a.info.get("placement") == CAMERA
    extra: tuple[str, ...] = ("back", "trunk", "knee/hip", "neck ext") if camera else ("lumbar", "pelvis", "share")
    for col in ("rep", "start", "bottom", "end", *extra):
        t.add_column(col, justify="right")
    t.add_column("faults", overflow="fold", min_width=18)
    verdict = a.camera_verdict
    for k, m in enumerate(a.reps):
        values: tuple[str, ...]
        if camera:
            values = (f"{m.peak_lumbar_flexion_deg:.0f}", f"{m.peak_trunk_inclination_deg:.0f}",
                      f"{m.knee_hip_ratio:.2f}", f"{m.peak_neck_extension_deg:.0f}")
        else:
            values = (f"{m.peak_lumbar_flexion_deg:.1f}", f"{m.peak_pelvis_tilt_deg:.1f}",
                      f"{m.lumbar_share:.2f}")
        faults = "\n".join((short or {}).get(f, f) for f in m.faults) or "-"
        if verdict is not None and not verdict.reps[k].judged:
            faults = f"not judged: {verdict.reps[k].short_reason()}" + (f"\n{faults}" if m.faults else "")
        t.add_row(str(m.index), f"{m.start_s:.1f}", f"{m.bottom_s:.1f}", f"{m.end_s:.1f}", *values, faults)
    return t
