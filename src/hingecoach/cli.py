"""The ``hingecoach`` command: a thin shell over ``hingecoach.analysis``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from hingecoach.analysis import (
    DISCLAIMER,
    Analysis,
    AnalysisSettings,
    analyze_file,
    write_angles_csv,
)
from hingecoach.angles import AngleSettings
from hingecoach.core.errors import HingecoachError
from hingecoach.faults import MESSAGES
from hingecoach.orientation.fusion import FusionSettings

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Learn and safeguard the hip hinge with two back-worn IMUs. "
                       + DISCLAIMER)
out = Console()
err = Console(stderr=True)


class Fmt(StrEnum):
    auto = "auto"
    hingecoach = "hingecoach"
    spinewise = "spinewise"
    qsense = "qsense"


class Fusion(StrEnum):
    six = "6axis"
    nine = "9axis"


class Exercise(StrEnum):
    hinge = "hinge"
    deadlift = "deadlift"
    swing = "swing"


def _fail(e: HingecoachError) -> None:
    err.print(f"[bold red]error:[/] {e}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(e.exit_code)


def _rep_table(a: Analysis) -> Table:
    t = Table(title=f"{len(a.reps)} reps (times in s, angles in deg)", title_justify="left",
              box=box.SIMPLE_HEAD)
    for col in ("rep", "start", "bottom", "end", "lumbar", "pelvis", "share"):
        t.add_column(col, justify="right")
    t.add_column("faults", overflow="fold", min_width=18)
    for m in a.reps:
        t.add_row(str(m.index), f"{m.start_s:.1f}", f"{m.bottom_s:.1f}", f"{m.end_s:.1f}",
                  f"{m.peak_lumbar_flexion_deg:.1f}", f"{m.peak_pelvis_tilt_deg:.1f}",
                  f"{m.lumbar_share:.2f}", "\n".join(m.faults) or "-")
    return t


def _print_analysis(a: Analysis) -> None:
    info = a.info
    out.print(f"{info['source']}: {info['format']}, {info['duration_s']:.1f} s at "
              f"{info['sample_rate_hz']:.0f} Hz, upper sensor {info['placement']} "
              f"({info['placement_meaning']})", highlight=False)
    out.print(f"lumbar_rounding above {a.thresholds.lumbar_rounding_deg:.0f} deg "
              f"({a.thresholds.lumbar_rounding_source})", highlight=False)
    out.print(_rep_table(a))
    if a.incomplete:
        out.print(f"{len(a.incomplete)} incomplete rep (did not return to standing) not counted")
    seen = sorted({f for m in a.reps for f in m.faults})
    for f in seen:
        n = sum(f in m.faults for m in a.reps)
        out.print(f"[bold]{f}[/] ({n} of {len(a.reps)} reps): {MESSAGES[f]}", highlight=False)
    if a.reps and not seen:
        out.print("No form faults found.")
    out.print(f"[dim]{DISCLAIMER}[/]")


def _warn(a: Analysis) -> None:
    for w in a.warnings:
        err.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="IMU recording: hingecoach CSV, SpineWise CSV or "
                                               "a QSense folder")],
    json_out: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    angles_csv: Annotated[Path | None, typer.Option(help="write the angles at the recording's rate")] = None,
    fmt: Annotated[Fmt, typer.Option("--format", help="input format (default: detect)")] = Fmt.auto,
    calibration: Annotated[Path | None, typer.Option(
        help="a separate calibration recording: standing still, optionally a maximal forward bend")] = None,
    placement: Annotated[str | None, typer.Option(
        help="where the upper sensor sits: L1, T12, T8 or neck (default: from the file)")] = None,
    exercise: Annotated[Exercise, typer.Option(help="swing turns the too_fast rule off")] = Exercise.hinge,
    share_of_max: Annotated[float, typer.Option(
        help="lumbar_rounding threshold as a share of the calibrated maximum flexion")] = 0.6,
    rounding_deg: Annotated[float | None, typer.Option(
        help="a fixed lumbar_rounding threshold in degrees (overrides the defaults)")] = None,
    fusion: Annotated[Fusion, typer.Option(
        help="9axis also uses the magnetometers (adds lumbar_twist_deg; metal near a bar "
             "spoils them)")] = Fusion.six,
) -> None:
    """Lumbar flexion, repetitions and form faults from a two-IMU recording."""
    try:
        settings = AnalysisSettings(placement=placement, exercise=exercise.value,
                                    share_of_max=share_of_max, lumbar_rounding_deg=rounding_deg,
                                    angles=AngleSettings(fusion=FusionSettings(
                                        magnetometer=fusion is Fusion.nine)))
        with err.status("analysing...", spinner="dots") if err.is_terminal else _Null():
            a = analyze_file(file, calibration=calibration, fmt=fmt.value, settings=settings)
        if angles_csv is not None:
            try:
                write_angles_csv(angles_csv, a.angles)
            except OSError as e:
                raise HingecoachError(f"{angles_csv}: cannot write the angles: {e.strerror}") from None
    except HingecoachError as e:
        _fail(e)
    _warn(a)
    if json_out:
        sys.stdout.write(json.dumps(a.to_json(), indent=1) + "\n")
    else:
        _print_analysis(a)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@app.command()
def simulate(
    output: Annotated[Path, typer.Argument(help="CSV to write; ground truth goes beside it "
                                                 "(NAME.truth.json, NAME.truth.csv)")],
    pattern: Annotated[str, typer.Option(
        help="good, slow, rounded, squat, overextended, fast, swing or mixed")] = "mixed",
    reps: Annotated[int, typer.Option(min=0, max=10000)] = 6,
    rate: Annotated[float, typer.Option(help="sample rate in Hz")] = 100.0,
    seed: Annotated[int, typer.Option()] = 0,
    placement: Annotated[str, typer.Option(help="L1, T12, T8 or neck")] = "T12",
    walk_s: Annotated[float, typer.Option(help="seconds of walking (with a turn) before the reps")] = 0.0,
    noise: Annotated[bool, typer.Option(help="sensor noise")] = True,
    gyro_bias_dps: Annotated[float, typer.Option(help="gyroscope bias range, deg/s")] = 1.5,
    random_mounting: Annotated[bool, typer.Option(help="sensors strapped on in random orientations")] = True,
    dropouts: Annotated[int, typer.Option(min=0, help="gaps with no samples")] = 0,
    clock_jitter: Annotated[float, typer.Option(help="sample-time jitter, fraction of a period")] = 0.0,
) -> None:
    """Write a simulated two-IMU recording with its ground truth."""
    from hingecoach.sources.imu_csv import write_imu_csv
    from hingecoach.sources.simulator import SimSettings, write_truth
    from hingecoach.sources.simulator import simulate as run_sim

    try:
        s = SimSettings(pattern=pattern, reps=reps, sample_rate_hz=rate, seed=seed,
                        placement=placement, walk_s=walk_s, noise=noise,
                        gyro_bias_dps=gyro_bias_dps, random_mounting=random_mounting,
                        dropouts=dropouts, clock_jitter=clock_jitter)
        rec, truth, truths = run_sim(s)
        try:
            write_imu_csv(output, rec)
            write_truth(output, truth, truths, s)
        except OSError as e:
            raise HingecoachError(f"{output}: cannot write: {e.strerror}") from None
    except HingecoachError as e:
        _fail(e)
    out.print(f"wrote {output} ({len(rec)} samples, {rec.duration_s:.1f} s, {len(truths)} reps) "
              f"and its ground truth", highlight=False)


@app.command()
def demo() -> None:
    """Analyse the bundled sample recording (made by the simulator) and explain the result."""
    sample = resources.files("hingecoach") / "data" / "demo.csv"
    with resources.as_file(sample) as path:
        try:
            a = analyze_file(path)
        except HingecoachError as e:
            _fail(e)
    a.info["source"] = "bundled demo.csv"
    out.print("[bold]hingecoach demo[/]: a simulated person with sensors on the sacrum and at "
              "L1/T12 stands still for 3 s (the calibration), then does hinges: some good, some "
              "with a rounded lower back, one squat-like and one leaning back at the top.\n")
    _warn(a)
    _print_analysis(a)
    out.print("\nlumbar: the lower back's peak flexion (0 = neutral standing); pelvis: "
              "how far the hips hinged; share: the back's part of the bend (a good hinge "
              "keeps it small). Try: hingecoach analyze FILE --json, hingecoach simulate "
              "out.csv --pattern swing --reps 10", highlight=False)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
