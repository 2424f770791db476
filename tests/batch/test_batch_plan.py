"""Planning a batch: inputs, folders, globs and manifests become jobs (no recording read),
and bad arguments are one line with exit code 2 before any work starts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hingecoach.batch import BatchError, plan_batch
from hingecoach.batch.engine import check_address
from hingecoach.batch.output import schemas
from hingecoach.cli import app


def _touch(p: Path, text: str = "time_s,x\n0,1\n") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "cohort"
    _touch(root / "a.csv")
    _touch(root / "a.truth.csv")  # the simulator's truth: not a recording
    _touch(root / "site1" / "b.CSV")
    _touch(root / "site1" / "clip.mp4", "")
    _touch(root / "site1" / "notes.txt")
    _touch(root / ".hidden" / "c.csv")
    q = root / "site2" / "QSM_1"  # a QSense folder: one recording, not three
    for n in (1, 2, 3):
        _touch(q / f"Sensor {n}.csv")
    _touch(q / "info.txt")
    return root


def test_a_folder_is_searched_recursively_for_every_format(tree: Path) -> None:
    plan = plan_batch([str(tree)])
    names = sorted(Path(j.path).relative_to(tree).as_posix() for j in plan.jobs)
    assert names == ["a.csv", "site1/b.CSV", "site1/clip.mp4", "site2/QSM_1"]
    assert all(j.found_in_folder and Path(j.path).is_absolute() for j in plan.jobs)
    assert len({j.recording_id for j in plan.jobs}) == 4


def test_globs_files_and_duplicates(tree: Path) -> None:
    plan = plan_batch([str(tree / "**" / "*.csv"), str(tree / "a.csv")])
    names = [Path(j.path).name for j in plan.jobs]
    assert sorted(names) == ["QSM_1", "a.csv"]  # globs are case-sensitive; a QSense folder once
    explicit = plan_batch([str(tree / "a.csv")]).jobs[0]
    assert not explicit.found_in_folder  # named explicitly: a bad file is failed, not skipped


@pytest.mark.parametrize("what", ["missing.csv", "nothing-*.csv", "empty"])
def test_an_input_that_matches_nothing(tmp_path: Path, what: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchError, match=r"found (nothing|a folder without recordings)"):
        plan_batch([str(tmp_path / what)])


def test_manifest_settings_labels_and_relative_paths(tree: Path) -> None:
    m = tree / "manifest.csv"
    m.write_text("path,person,exercise,placement,calibration,site,age:int,weight:float,lefty:bool\n"
                 "a.csv,p1,deadlift,t8,cal.csv,north,41,72.5,yes\n"
                 "site1/b.CSV,p2,,,,south,,,no\n")
    plan = plan_batch([], m, thresholds_of=lambda p: {"share_of_max": {"value": 0.5}} if p == "p1" else None)
    a, b = plan.jobs
    assert a.path == str(tree / "a.csv") and a.calibration == str(tree / "cal.csv")
    assert (a.person, a.exercise, a.placement) == ("p1", "deadlift", "T8")
    assert a.labels == {"site": "north", "age": 41, "weight": 72.5, "lefty": True}
    assert b.labels == {"site": "south", "age": None, "weight": None, "lefty": False}
    assert a.person_thresholds == {"share_of_max": {"value": 0.5}} and b.person_thresholds is None
    assert plan.label_types == {"site": "str", "age": "int", "weight": "float", "lefty": "bool"}
    assert a.settings_key != b.settings_key
    # the inputs add what the manifest does not name, with the defaults
    both = plan_batch([str(tree)], m)
    assert [Path(j.path).name for j in both.jobs][:2] == ["a.csv", "b.CSV"] and len(both.jobs) == 4


def test_a_missing_manifest_file_is_a_failed_row_not_an_error(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("path\nnot-there.csv\n")
    (job,) = plan_batch([], m).jobs
    assert job.error is not None and "no such file" in job.error and job.input_sig == ""


@pytest.mark.parametrize(("text", "message"), [
    ("person,site\np1,x\n", "line 1: expected a 'path' column, found 'person', 'site'"),
    ("path,age:integer\na.csv,3\n", "column 'age:integer': expected a type of str, int, float, bool"),
    ("path,age:int\na.csv,old\n", "line 2, column 'age': expected int, found 'old'"),
    ("path,exercise\na.csv,yoga\n", "line 2, column 'exercise': exercise: expected one of"),
    ("path,placement\na.csv,knee\n", "line 2, column 'placement'"),
    ("path\na.csv\n./a.csv\n", "line 3, column 'path': expected each recording once"),
    ("path,site,site\na.csv,1,2\n", "expected each column once"),
    ("", "found an empty file"),
])
def test_bad_manifests(tree: Path, text: str, message: str) -> None:
    m = tree / "bad.csv"
    m.write_text(text)
    with pytest.raises(BatchError) as e:
        plan_batch([], m)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_label_may_not_shadow_an_output_column() -> None:
    with pytest.raises(BatchError, match="'status': expected a label name"):
        schemas({"status": "str"})


@pytest.mark.parametrize("address", ["tcp://10.0.0.1:8786", "127.0.0.1:8786", "tls://sched.example:9000"])
def test_scheduler_addresses(address: str) -> None:
    assert check_address(address) == address


def test_a_bad_scheduler_address() -> None:
    with pytest.raises(BatchError, match="expected tcp://HOST:PORT"):
        check_address("http://host")


def test_planning_2000_manifest_rows_reads_no_recording(tmp_path: Path) -> None:
    target = _touch(tmp_path / "one.csv")
    (tmp_path / "links").mkdir()
    lines = ["path,person,site"]
    for i in range(2000):
        (tmp_path / "links" / f"r{i}.csv").symlink_to(target)
        lines.append(f"links/r{i}.csv,p{i % 50},s{i % 3}")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    target.chmod(0)  # unreadable: planning must not open it (root may still: the time bound says the rest)
    t = time.perf_counter()
    plan = plan_batch([], tmp_path / "m.csv")
    assert time.perf_counter() - t < 2.0
    assert len(plan.jobs) == 2000 and len({j.recording_id for j in plan.jobs}) == 2000


@pytest.mark.parametrize(("args", "message"), [
    (["batch", "/nonexistent/x*.csv", "--out", "OUT"], "found nothing"),
    (["batch", "--out", "OUT"], "expected recordings (INPUT...) or --manifest FILE"),
    (["batch", "IN"], "expected --out DIR"),
    (["batch", "IN", "--out", "OUT", "--scheduler", "nonsense"], "expected tcp://HOST:PORT"),
    (["batch", "IN", "--out", "OUT", "--manifest", "IN/a.csv"], "expected a 'path' column"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    _touch(tmp_path / "in" / "a.csv")
    args = [a.replace("OUT", str(tmp_path / "out")).replace("IN", str(tmp_path / "in")) for a in args]
    p = CliRunner().invoke(app, args)  # in-process: the same exit code and stderr, without a new Python
    assert p.exit_code == 2, p.stderr
    assert message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "out" / "recordings.parquet").exists()


def test_an_edited_label_changes_the_settings_key(tree: Path) -> None:
    m = tree / "m.csv"
    m.write_text("path,site\na.csv,north\n")
    before = plan_batch([], m).jobs[0].settings_key
    assert plan_batch([], m).jobs[0].settings_key == before  # stable
    m.write_text("path,site\na.csv,south\n")
    assert plan_batch([], m).jobs[0].settings_key != before  # the row is written again with the new label
