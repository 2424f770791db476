"""``hingecoach batch``: a thin shell over ``hingecoach.batch`` (registered on the app by
``cli.py``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from hingecoach.cli_store import DbOption, fail, store_of
from hingecoach.core.errors import HingecoachError
from hingecoach.core.extras import require
from hingecoach.store import Store
from hingecoach.store.paths import is_postgres, sqlite_path

if TYPE_CHECKING:
    from hingecoach.batch import BatchReport, Job

err = Console(stderr=True)
out = Console()


class _Bar:
    """The rich progress bar: recordings done of those to analyse, failed, per minute."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[failed]} failed"), TextColumn("{task.fields[rate]}/min"),
                            TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)
        self.task: Any = None
        self.t0 = time.monotonic()

    def start(self, report: BatchReport) -> None:
        """The workers are up: the bar starts (its total: the recordings to analyse)."""
        self.t0 = time.monotonic()
        self.task = self.bar.add_task("batch", total=report.queued, failed=0, rate="-")

    def update(self, report: BatchReport, job: Job, row: dict[str, Any]) -> None:
        """One more result."""
        if self.task is None:
            self.start(report)
        minutes = max(time.monotonic() - self.t0, 1e-6) / 60.0
        done = report.analysed + report.unchanged - (report.total - report.queued)
        self.bar.update(self.task, completed=max(done, 0), failed=report.failed,
                        rate=f"{report.analysed / minutes:.1f}")


def _thresholds_lookup(db: str | None, save: bool) -> tuple[Any, list[Store]]:
    """A person's clinician-set thresholds from the store (opened on first need; with no
    store and no --save, the defaults apply)."""
    opened: list[Store] = []

    def look(person: str) -> dict[str, Any] | None:
        """The person's thresholds, or None."""
        if not opened:
            url = db or ""
            exists = (bool(db) and is_postgres(url)) or sqlite_path(url or _default()).exists()
            if not (save or exists):
                return None
            opened.append(store_of(db, create=save))
        p = opened[0].person(person)
        return p.thresholds if p is not None else None

    return look, opened


def _default() -> str:
    from hingecoach.store import default_url

    return default_url()


def batch(
    inputs: Annotated[list[str] | None, typer.Argument(
        help="recordings: files, folders (searched recursively for every format analyze reads) or globs",
        show_default=False)] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="output folder (Parquet tables, summary.html); "
                                                 "a second run there analyses only new or changed recordings",
                                                 show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="local worker processes (default: the number of cores)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="an existing dask.distributed cluster, tcp://HOST:PORT (its workers must see the files)")] = None,
    manifest: Annotated[Path | None, typer.Option(
        help="CSV: path, optional person, exercise, placement, calibration; other columns are labels "
             "(name or name:int|float|bool|str)")] = None,
    save: Annotated[bool, typer.Option("--save", help="store each recording as a session, as analyze --save")
                    ] = False,
    db: DbOption = None,
    angles: Annotated[bool, typer.Option("--angles", help="also write angles/ (Parquet, one partition per "
                                                          "recording)")] = False,
) -> None:
    """Analyse a cohort of recordings on this machine's cores or a Dask cluster, into Parquet."""
    store: Store | None = None
    opened: list[Store] = []
    try:
        # Dask and pyarrow load only for this command (the scale extra)
        require("scale", "pyarrow", "hingecoach batch")
        require("scale", "distributed", "hingecoach batch")
        from hingecoach.batch import BatchOptions, plan_batch, run_batch
        from hingecoach.batch.engine import check_address

        if out_dir is None:
            raise HingecoachError("batch: expected --out DIR (the output folder)")
        if not inputs and manifest is None:
            raise HingecoachError("batch: expected recordings (INPUT...) or --manifest FILE")
        if scheduler is not None:
            check_address(scheduler)
        look, opened = _thresholds_lookup(db, save)
        plan = plan_batch(inputs or [], manifest, thresholds_of=look)
        if save:
            store = opened[0] if opened else store_of(db, create=True)
        bar = _Bar()
        with bar.bar:
            report = run_batch(plan, BatchOptions(out=out_dir, workers=workers, scheduler=scheduler, angles=angles,
                                                  save=save), store=store, progress=bar.update, on_start=bar.start)
        where = store.url if store is not None else None
    except HingecoachError as e:
        fail(e)
    finally:
        for s in {id(s): s for s in [*opened, *([store] if store else [])]}.values():
            s.close()
    rate = report.analysed / report.seconds * 60 if report.seconds > 0 else 0.0
    err.print(f"batch: {report.total} recordings in {report.seconds:.1f} s: {report.ok} ok, "
              f"{report.failed} failed, {report.skipped} skipped (not recordings), {report.unchanged} unchanged "
              f"since an earlier run; {rate:.1f} recordings/min on {report.workers} workers"
              + (f"; {report.saved} sessions saved in {where}" if where is not None else ""),
              highlight=False, markup=False, soft_wrap=True)
    out.print(f"wrote {out_dir}/recordings.parquet, reps.parquet" + (", angles/" if angles else "")
              + ", summary.html", highlight=False, markup=False, soft_wrap=True)


def simulate_shift(output: Path, hours: float, rate: float, seed: int, placement: str, noise: bool,
                   gyro_bias_dps: float, random_mounting: bool, model_options: tuple[object, ...]) -> None:
    """``hingecoach simulate OUT --shift-hours H``: a shift-long recording with its truth."""
    from hingecoach.core.errors import ParameterError
    from hingecoach.sources.imu_csv import write_imu_csv
    from hingecoach.sources.shift import ShiftSettings, simulate_shift, write_shift_truth

    try:
        names = ("--pattern", "--reps", "--walk-s", "--dropouts", "--clock-jitter", "--from-bvh")
        given = [n for n, v, d in zip(names, model_options, ("mixed", 6, 0.0, 0, 0.0, None), strict=True) if v != d]
        if given:
            raise ParameterError("--shift-hours", "no --pattern, --reps, --walk-s, --dropouts, --clock-jitter or "
                                 "--from-bvh (the shift sets the motion)", " ".join(given))
        s = ShiftSettings(hours=hours, sample_rate_hz=rate, seed=seed, placement=placement, noise=noise,
                          gyro_bias_dps=gyro_bias_dps, random_mounting=random_mounting)
        rec, truth, reps, activities = simulate_shift(s)
        try:
            write_imu_csv(output, rec)
            write_shift_truth(output, truth, reps, activities, s)
        except OSError as e:
            raise HingecoachError(f"{output}: cannot write: {e.strerror}") from None
    except HingecoachError as e:
        fail(e)
    out.print(f"wrote {output} ({len(rec)} samples, {rec.duration_s / 3600:.2f} h, {len(reps)} lifts, "
              f"{sum(a.kind == 'sit' for a in activities)} seated spells) and its ground truth", highlight=False)
