"""The ``hingecoach`` command: a thin shell over ``hingecoach.analysis``."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from hingecoach import cli_batch, cli_live, cli_store
from hingecoach.analysis import (
    DISCLAIMER,
    Analysis,
    AnalysisSettings,
    analyze_file,
    analyze_video,
    is_camera_source,
    video_back_reference,
    write_angles_csv,
)
from hingecoach.angles import AngleSettings
from hingecoach.core.errors import HingecoachError
from hingecoach.core.vocabulary import CAMERA, Exercise, Fusion, InputFormat, PoseModelName, Setting
from hingecoach.faults import MESSAGES
from hingecoach.orientation.fusion import FusionSettings
from hingecoach.pose.verdict import BackReference
from hingecoach.store import Store, resolve_settings
from hingecoach.store.files import save_file_analysis

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Learn and safeguard the hip hinge with two back-worn IMUs or a side-view "
                       "camera. " + DISCLAIMER)
out = Console()
err = Console(stderr=True)


PoseModelOption = Annotated[PoseModelName | None, typer.Option(
    "--pose-model", help="video only: the BlazePose model (heavy: most accurate, slowest)")]


OverlayOption = Annotated[Path | None, typer.Option(
    help="video only: write the video with skeleton, back outline, angles, reps and faults (mp4)")]
StillsOption = Annotated[Path | None, typer.Option("--stills", help="video only: write each rep's bottom frame, "
                                                    "drawn on, with its verdict, to this folder (JPEG)")]
DurationOption = Annotated[float | None, typer.Option(
    help="webcam only: stop after this many seconds (default: Ctrl-C)")]
ReferenceOption = Annotated[Path | None, typer.Option(
    "--reference", help="video only: a short clip of the person standing tall, side-on, with a dowel in "
                        "the three-point position: their standing back, which the rounding rule compares "
                        "against (default: the upright frames of the clip itself)")]


def _with_pose_model(settings: AnalysisSettings, name: PoseModelName | None) -> AnalysisSettings:
    """The settings with ``--pose-model`` applied (None: unchanged)."""
    return settings if name is None else replace(settings, camera=replace(settings.camera, pose_model=name.value))


def _fail(e: HingecoachError) -> None:
    """Print the error as one line and exit with its code (2)."""
    err.print(f"[bold red]error:[/] {escape(str(e))}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(e.exit_code)


@contextlib.contextmanager
def _fails_cleanly() -> Iterator[None]:
    """A HingecoachError inside ends the command with its one-line message."""
    try:
        yield
    except HingecoachError as e:
        _fail(e)


@contextlib.contextmanager
def _writing(output: Path) -> Iterator[None]:
    """An OSError while writing ``output`` becomes a HingecoachError naming it."""
    try:
        yield
    except OSError as e:
        raise HingecoachError(f"{output}: cannot write: {e.strerror}") from None


def _fault_abbreviations(names: Iterable[str]) -> dict[str, str]:
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


def _rep_tables(a: Analysis, console: Console) -> list[RenderableType]:
    """The rep table as it fits ``console``: fault ids in full when the table fits its
    width, else as short codes with a legend below that spells each one out; a fault id is
    never cut."""
    table = _rep_table(a)
    need = Measurement.get(console, console.options.update_width(10_000), table).minimum
    if need <= console.width:
        return [table]
    short = _fault_abbreviations(f for m in a.reps for f in m.faults)
    legend = ", ".join(f"{code} = {name}" for name, code in short.items())
    return [_rep_table(a, short), Text(f"faults: {legend}")]


def _rep_table(a: Analysis, short: Mapping[str, str] | None = None) -> Table:
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
            faults = f"not judged: {verdict.reps[k].view.view} view" + (f"\n{faults}" if m.faults else "")
        t.add_row(str(m.index), f"{m.start_s:.1f}", f"{m.bottom_s:.1f}", f"{m.end_s:.1f}", *values, faults)
    return t


def _print_analysis(a: Analysis) -> None:
    """The analysis for people: the recording, the threshold, the reps, each fault's advice."""
    info = a.info
    if info.get("placement") == CAMERA:
        out.print(f"{info['source']}: {info['format']}, {info['duration_s']:.1f} s at "
                  f"{info['sample_rate_hz']:.0f} frames/s, {info['frames_used']} of {info['frames']} frames "
                  f"used, {info['side_facing_camera']} side to the camera", highlight=False)
        out.print("back = the virtual dowel: how far the back bows from the hip-shoulder line, as an angle "
                  "(camera scale, not comparable with IMU degrees)", highlight=False)
    else:
        out.print(f"{info['source']}: {info['format']}, {info['duration_s']:.1f} s at "
                  f"{info['sample_rate_hz']:.0f} Hz, upper sensor {info['placement']} "
                  f"({info['placement_meaning']})", highlight=False)
    out.print(f"lumbar_rounding above {a.thresholds.lumbar_rounding_deg:.0f} deg "
              f"({a.thresholds.lumbar_rounding_source})", highlight=False)
    if a.camera_verdict is not None:
        v = a.camera_verdict
        out.print(f"[bold]verdict: {v.verdict}[/] ({v.view.view} view, {sum(j.judged for j in v.reps)} of "
                  f"{len(v.reps)} reps judged)", highlight=False)
        for reason in v.reasons:
            out.print(f"  - {escape(reason)}", highlight=False)
    for part in _rep_tables(a, out):
        out.print(part)
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
    """Each warning on stderr (so --json stays clean)."""
    for w in a.warnings:
        err.print(f"warning: {w}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def analyze(
    file: Annotated[Path | None, typer.Argument(
        help="IMU recording (hingecoach CSV, SpineWise CSV, QSense folder), a side-view video (mp4, "
             "mov, avi, webm) or webcam:N; or none with --lower and --upper")] = None,
    lower: Annotated[Path | None, typer.Option(
        help="one sensor's export (Movella DOT, Movesense, MetaMotion, phyphox, Sensor Logger): "
             "the sacrum's; a file or the folder holding its files")] = None,
    upper: Annotated[Path | None, typer.Option(
        help="the upper back sensor's export, as --lower (the two clocks are aligned)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    angles_csv: Annotated[Path | None, typer.Option(help="write the angles at the recording's rate")] = None,
    fmt: Annotated[InputFormat, typer.Option("--format", help="input format (default: detect)")] = InputFormat.auto,
    calibration: Annotated[Path | None, typer.Option(
        help="a separate calibration recording: standing still, optionally a maximal forward bend")] = None,
    placement: Annotated[str | None, typer.Option(
        help="where the upper sensor sits: L1, T12, T8 or neck (default: from the file)")] = None,
    exercise: Annotated[Exercise | None, typer.Option(
        help="swing turns the too_fast rule off [default: hinge]")] = None,
    share_of_max: Annotated[float | None, typer.Option(
        help="lumbar_rounding threshold as a share of the calibrated maximum flexion [default: 0.6]")
                            ] = None,
    rounding_deg: Annotated[float | None, typer.Option(
        help="a fixed lumbar_rounding threshold in degrees (overrides the defaults)")] = None,
    overlay: OverlayOption = None,
    stills: StillsOption = None,
    duration: DurationOption = None,
    pose_model: PoseModelOption = None,
    reference: ReferenceOption = None,
    save: Annotated[bool, typer.Option("--save", help="store the session (reps, angles, raw samples)")
                    ] = False,
    person: Annotated[str | None, typer.Option(
        help="whose session: their clinician-set thresholds apply; with --save, stored with them")] = None,
    db: cli_store.DbOption = None,
    fusion: Annotated[Fusion, typer.Option(
        help="9axis also uses the magnetometers (adds lumbar_twist_deg; metal near a bar "
             "spoils them)")] = Fusion.six,
) -> None:
    """Lumbar flexion, repetitions and form faults from a two-IMU recording or a side-view video."""
    try:
        overrides = {Setting.placement.value: placement, Setting.exercise.value: exercise.value if exercise else None,
                     Setting.share_of_max.value: share_of_max, Setting.lumbar_rounding_deg.value: rounding_deg}
        store = cli_store.store_of(db, create=save) if save or person else None
        settings = _settings(store, person, overrides, save)
        settings = replace(settings, angles=AngleSettings(fusion=FusionSettings(magnetometer=fusion is Fusion.nine)))
        settings = _with_pose_model(settings, pose_model)
        if file is None and (lower is None or upper is None):
            raise HingecoachError("analyze: give a recording FILE, or --lower FILE and --upper FILE")
        shown = file if file is not None else Path(f"{lower} + {upper}")
        camera = file is not None and (fmt == InputFormat.video
                                       or (fmt == InputFormat.auto and is_camera_source(file)))
        _camera_only(shown, camera, overlay=overlay, reference=reference, stills=stills, pose_model=pose_model)
        if camera:
            a = _analyze_video(shown, settings, duration, reference, stills, save)
        else:
            # a plain line, not a spinner: a spinner is a thread, and with a second thread
            # running the two sensors are not fused in two processes (fork is unsafe then)
            if err.is_terminal:
                err.print(f"analysing {shown} ...", highlight=False, markup=False)
            a = analyze_file(file, calibration=calibration, fmt=fmt.value, settings=settings,
                             lower=lower, upper=upper)
        _write_outputs(shown, a, overlay, angles_csv)
        if store is not None and save:
            sid = save_file_analysis(store, a, file, calibration=calibration, fmt=fmt.value,
                                     settings=settings, person=person, lower=lower, upper=upper)
            err.print(f"saved as session {sid} in {store.url}" + (f" ({person})" if person else ""),
                      highlight=False, markup=False)
    except HingecoachError as e:
        _fail(e)
    finally:
        if "store" in locals() and store is not None:
            store.close()
    _warn(a)
    if json_out:
        sys.stdout.write(json.dumps(a.to_json(), indent=1) + "\n")
    else:
        _print_analysis(a)


def _write_outputs(shown: Path, a: Analysis, overlay: Path | None, angles_csv: Path | None) -> None:
    """``--overlay`` (the video drawn on) and ``--angles-csv``, when asked for."""
    if overlay is not None:
        _write_overlay(shown, a, overlay)
    if angles_csv is not None:
        try:
            write_angles_csv(angles_csv, a.angles)
        except OSError as e:
            raise HingecoachError(f"{angles_csv}: cannot write the angles: {e.strerror}") from None


def _progress(total: int | None, what: str) -> Any:
    """A progress bar on stderr (hidden when stderr is not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


def _camera_only(shown: Path, camera: bool, **options: object) -> None:
    """The video-only options (``--overlay``, ``--reference``, ``--pose-model``...) need a video."""
    for name, value in options.items():
        if value is not None and not camera:
            flag = name.replace("_", "-")
            raise HingecoachError(f"--{flag} {value}: needs a video, and {shown} is an IMU recording")


def _reference(clip: Path, settings: AnalysisSettings) -> BackReference:
    """``--reference CLIP``: the person's standing back from the clip, with a progress bar."""
    from hingecoach.sources.video import probe_video

    total = probe_video(clip).frames
    with _progress(total, "reference") as bar:
        task = bar.add_task("reference", total=total)
        ref = video_back_reference(clip, settings, progress=lambda i: bar.update(task, completed=i + 1))
    if ref is None:
        raise HingecoachError(f"--reference {clip}: no upright frames with the back seen (at least 5 with the "
                              "hips and trunk upright): stand tall, side-on, whole body in view")
    return ref


def _analyze_video(file: Path, settings: AnalysisSettings, duration: float | None, reference: Path | None = None,
                   stills: Path | None = None, save: bool = False) -> Analysis:
    """A video file or webcam through the pose stage, with a progress bar; ``reference``:
    a clip of the person standing tall (``--reference``); then its rep stills for
    ``--stills`` FOLDER (checked first) and ``--save`` (``hingecoach.stills.keep_stills``)."""
    from hingecoach.sources.video import parse_webcam, probe_video
    from hingecoach.stills import check_folder, keep_stills

    if stills is not None:
        check_folder(stills, file)
    ref = _reference(reference, settings) if reference is not None else None
    webcam = parse_webcam(str(file)) is not None
    total = None if webcam else probe_video(file).frames
    if webcam:
        err.print(f"recording from {file}{f' for {duration:g} s' if duration else ''}; Ctrl-C stops it")
    with _progress(total, "pose") as bar:
        task = bar.add_task("pose", total=total)
        a = analyze_video(str(file), settings, progress=lambda i: bar.update(task, completed=i + 1),
                          webcam_max_s=duration, reference=ref)
    if (n := keep_stills(file, a, stills, save)) is not None:
        err.print(f"wrote {n} rep still(s) to {stills}", highlight=False, markup=False)
    return a


def _write_overlay(file: Path, a: Analysis, path: Path) -> None:
    """The video with the analysis drawn on it, to ``path``."""
    from hingecoach.overlay import write_overlay

    with _progress(a.info.get("frames"), "overlay") as bar:
        task = bar.add_task("overlay", total=a.info.get("frames"))
        n = write_overlay(file, a, path, progress=lambda i: bar.update(task, completed=i + 1))
    err.print(f"wrote {path} ({n} frames)", highlight=False)


def _settings(store: Store | None, person: str | None, overrides: dict[str, Any],
              save: bool) -> AnalysisSettings:
    """Settings from the command line, else the person's thresholds, else the defaults;
    with a person, say where each came from (stderr, so --json stays clean)."""
    if store is None or person is None:
        st, _ = resolve_settings(overrides)
        return st
    p = store.person(person)
    if p is None and not save:
        raise HingecoachError(f"--person {person!r}: no such person in {store.url} (add --save to "
                              "create it, or 'hingecoach person NAME --rounding-deg X' to set thresholds)")
    st, origin = resolve_settings(overrides, person, p.thresholds if p else None)
    order = (Setting.lumbar_rounding_deg, Setting.share_of_max, Setting.too_fast_s, Setting.placement,
             Setting.exercise)
    shown = {k.value: getattr(st, k.value) for k in order}
    for k, v in shown.items():
        if v is not None:
            err.print(f"setting: {k} = {v} ({origin[k]})", highlight=False, markup=False, soft_wrap=True)
    return st


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
    from_bvh: Annotated[Path | None, typer.Option(
        help="drive the two sensors with a BVH motion-capture clip (Xsens names: Hips, "
             "Chest3/Chest4) instead of the model; --pattern, --reps, --walk-s, --dropouts "
             "and --clock-jitter do not apply")] = None,
    shift_hours: Annotated[float | None, typer.Option(
        help="a work shift of this many hours (standing, walking, sitting, about 60 lifts an hour of varied "
             "technique) instead of a set of reps; --pattern, --reps, --walk-s, --dropouts and "
             "--clock-jitter do not apply")] = None,
) -> None:
    """Write a simulated two-IMU recording with its ground truth."""
    if shift_hours is not None:
        cli_batch.simulate_shift(output, shift_hours, rate, seed, placement, noise, gyro_bias_dps, random_mounting,
                                 model_options=(pattern, reps, walk_s, dropouts, clock_jitter, from_bvh))
        return
    from hingecoach.sources.imu_csv import write_imu_csv
    from hingecoach.sources.simulator import SimSettings, write_truth
    from hingecoach.sources.simulator import simulate as run_sim

    if from_bvh is not None:
        _simulate_from_bvh(output, from_bvh, rate, seed, placement, noise, gyro_bias_dps,
                           random_mounting, model_options=(pattern, reps, walk_s, dropouts, clock_jitter))
        return
    with _fails_cleanly():
        s = SimSettings(pattern=pattern, reps=reps, sample_rate_hz=rate, seed=seed,
                        placement=placement, walk_s=walk_s, noise=noise,
                        gyro_bias_dps=gyro_bias_dps, random_mounting=random_mounting,
                        dropouts=dropouts, clock_jitter=clock_jitter)
        rec, truth, truths = run_sim(s)
        with _writing(output):
            write_imu_csv(output, rec)
            write_truth(output, truth, truths, s)
    out.print(f"wrote {output} ({len(rec)} samples, {rec.duration_s:.1f} s, {len(truths)} reps) "
              f"and its ground truth", highlight=False)


def _simulate_from_bvh(output: Path, clip: Path, rate: float, seed: int, placement: str,
                       noise: bool, gyro_bias_dps: float, random_mounting: bool,
                       model_options: tuple[object, ...]) -> None:
    """``simulate --from-bvh``: the two sensors driven by a motion-capture clip."""
    from hingecoach.core.errors import ParameterError
    from hingecoach.sources.bvh import VirtualImuSettings, virtual_recording, write_virtual_truth
    from hingecoach.sources.imu_csv import write_imu_csv

    with _fails_cleanly():
        given = [n for n, v, d in zip(("--pattern", "--reps", "--walk-s", "--dropouts", "--clock-jitter"),
                                      model_options, ("mixed", 6, 0.0, 0, 0.0), strict=True) if v != d]
        if given:
            raise ParameterError("--from-bvh", "no --pattern, --reps, --walk-s, --dropouts or "
                                 "--clock-jitter (the clip sets the motion)", " ".join(given))
        s = VirtualImuSettings(sample_rate_hz=rate, seed=seed, placement=placement, noise=noise,
                               gyro_bias_dps=gyro_bias_dps, random_mounting=random_mounting)
        rec, truth, info = virtual_recording(clip, s)
        with _writing(output):
            write_imu_csv(output, rec)
            write_virtual_truth(output, truth, info, s)
    added = "" if info.prepended == "none" else f"; added before it: {info.prepended}"
    out.print(f"wrote {output} ({len(rec)} samples, {rec.duration_s:.1f} s; the clip's own motion "
              f"from {info.real_from_s:.2f} s{added}) and its ground truth", highlight=False)


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


@app.command()
def train(
    person: Annotated[str | None, typer.Option(help="whose programme (a name or pseudonym) [default: the "
                                                    "script's person, else 'me']")] = None,
    source: Annotated[str | None, typer.Option(
        help="live source of the sets' reps: udp:HOST:PORT, serial:DEV, replay:FILE, webcam:N, or one "
             "source per sensor: phyphox:lower=http://A:8080,upper=http://B:8080 (two phones) or "
             "lower=SOURCE,upper=SOURCE")] = None,
    script: Annotated[Path | None, typer.Option(
        help="answer from this TOML file instead of the keyboard (format: 'hingecoach train --help' "
             "and the README); its sets may give their reps, so no sensors are needed")] = None,
    db: cli_store.DbOption = None,
) -> None:
    """A guided hinge session: safety screen, pain, set-up, calibration, sets at your stage,
    pain after each set; the programme moves on, or back, by its rules. Everything is saved."""
    from hingecoach.coach import load, plan_lines
    from hingecoach.coach import plan as next_plan
    from hingecoach.coach.drive import TerminalIo, drive
    from hingecoach.coach.script import Script
    from hingecoach.coach.session import ProgrammeSession, source_kind

    try:
        sc = Script.load(script) if script is not None else None
        name = person or (str(sc.doc["person"]) if sc is not None and "person" in sc.doc else "me")
        if sc is None and source is None:
            raise HingecoachError("train: expected --source (udp:HOST:PORT, serial:DEV, replay:FILE or "
                                  "webcam:N) for the sets, or --script FILE with the sets' outcomes")
        with cli_store.store_of(db, create=True) as st:
            for line in sc.apply_plan(st, name) if sc is not None else []:
                out.print(line, highlight=False)
            if sc is not None and not sc.has_session:
                for line in plan_lines(next_plan(load(st, name))):
                    out.print(line, highlight=False)
                return
            kind = source_kind(source, str(sc.doc.get("sensor", "imu")) if sc is not None else "imu")
            ps = ProgrammeSession(st, name, source=source or "", kind=kind)
            outcome = drive(ps, TerminalIo(out), source=source, script=sc)
            out.print(f"\n[bold]{outcome.message}[/]", highlight=False)
            out.print(f"saved as session {outcome.session_id} in {st.url} ({name})", highlight=False)
            for line in plan_lines(next_plan(load(st, name))):
                out.print(line, highlight=False)
            if sc is not None and sc.used_sets < len(sc.sets) and outcome.outcome != "completed":
                err.print(f"note: {script}: sets {sc.used_sets + 1}-{len(sc.sets)} were not run "
                          f"(the session ended: {outcome.outcome})", highlight=False, markup=False)
    except HingecoachError as e:
        _fail(e)
    out.print(f"[dim]{DISCLAIMER}[/]")


@app.command()
def plan(
    person: Annotated[str, typer.Option(help="whose programme")] = "me",
    json_out: Annotated[bool, typer.Option("--json", help="print JSON instead of text")] = False,
    db: cli_store.DbOption = None,
) -> None:
    """The next session's stage, wall distance and lumbar-rounding threshold, with the reason."""
    from hingecoach.coach import load, plan_lines
    from hingecoach.coach import plan as next_plan
    from hingecoach.store import open_store

    try:
        if _no_store(db):
            p = next_plan(load(None, person))
        else:
            with open_store(db, create=False) as st:
                p = next_plan(load(st, person))
    except HingecoachError as e:
        _fail(e)
    if json_out:
        sys.stdout.write(json.dumps(p, indent=1) + "\n")
    else:
        for line in plan_lines(p):
            out.print(line, highlight=False)


def _no_store(db: str | None) -> bool:
    """True when nothing was ever saved (no database file): a plan is then the start."""
    from hingecoach.store.paths import is_postgres, sqlite_path

    url = db or cli_store.default_url()
    return not is_postgres(url) and not sqlite_path(url).exists()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on; anything but 127.0.0.1/localhost/::1 "
                                           "needs --token")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    token: Annotated[str | None, typer.Option(
        envvar="HINGECOACH_TOKEN", show_default=False,
        help="a secret every request must carry (Authorization: Bearer T, or open /?token=T once in "
             "the browser); required when not bound to this computer only")] = None,
    db: cli_store.DbOption = None,
) -> None:
    """The local web app: today's session with live angles, cues and reps, history with
    progress charts, each session's report, and a person's settings. No network calls."""
    try:
        from hingecoach.web.server import serve as run_server

        run_server(host=host, port=port, token=token, db=db, log=err)
    except HingecoachError as e:
        _fail(e)


for _command, _name in cli_store.COMMANDS:
    app.command(name=_name)(_command)
app.command(name="live")(cli_live.live)
app.command(name="batch")(cli_batch.batch)


def main() -> None:
    """Run the command; Ctrl-C ends it with "interrupted" and exit code 130."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
    except SystemExit as e:
        if e.code == 130:  # typer ends a command interrupted by Ctrl-C with 130, silently
            err.print("interrupted")
        raise
    except Exception as e:  # e.g. a lazy import interrupted by Ctrl-C
        from hingecoach._entry import caused_by_interrupt

        if not caused_by_interrupt(e):
            raise
        err.print("interrupted")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
