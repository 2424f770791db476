"""What fuzzing found, each kept as a plain test of the one-line error that replaced the
traceback; and the harness's own rules (what counts as a rejection, a finding, a hang)."""

from __future__ import annotations

import csv
import io
import json
import random
import time

import numpy as np
import pytest

from hingecoach.batch import BatchError, read_manifest
from hingecoach.core.errors import InputError
from hingecoach.sources.detect import read_device, read_recording
from hingecoach.sources.imu_csv import make_recording
from hingecoach.store import StoreError, open_store
from hingecoach.store.exchange import import_bundle, read_bundle
from hingecoach.testing.fuzz import Malformed, Rejected, mutate, mutate_json, run
from hingecoach.testing.fuzz_inputs import _materialise, cli_args, seed_bundle, seed_bundle_folder
from hingecoach.testing.fuzz_seeds import parts, seed_metamotion, seed_movella, seed_qsense, seed_spinewise


# -- findings -------------------------------------------------------------------------------------------
def test_a_qsense_header_without_a_gyroscope_column_is_one_line(tmp_path):
    folder = tmp_path / "q"
    _materialise(folder, seed_qsense().replace(b"\tgy\t", b"\tgyy\t"), as_zip=False)
    with pytest.raises(InputError, match=r"Sensor \d\.csv, line 6: expected a QSense header .* found no column gy$"):
        read_recording(folder, fmt="qsense")


def test_a_metabase_axis_column_without_its_closing_parenthesis_is_one_line(tmp_path):
    folder = tmp_path / "m"
    _materialise(folder, seed_metamotion().replace(b"z-axis (g)", b"z-axis (g"), as_zip=False)
    with pytest.raises(InputError, match=r"Accelerometer_50Hz\.csv, line 1: expected a column 'z-axis \(unit\)', "
                                         r"found 'z-axis \(g'"):
        read_device(folder, fmt="metamotion")


def test_a_manifest_that_is_not_utf8_is_one_line(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes(b"path,person\nrec.csv,\xe6nna\n")
    with pytest.raises(BatchError, match=r"m\.csv: expected a UTF-8 manifest \(CSV\), found a byte that is not UTF-8"):
        read_manifest(p)


def test_values_beyond_any_sensors_range_are_refused_by_every_reader(tmp_path):
    # 1e308 deg/s is a finite number the parser takes; in rad/s and float32 it broke the analysis
    p = tmp_path / "movement.csv"
    lines = seed_spinewise().decode().splitlines()
    cells = lines[90].split(",")
    cells[5] = "-0.41e308"
    lines[90] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"movement\.csv, column 'lower_gyr': expected values within \+-200 rad/s"):
        read_recording(p, fmt="spinewise")


def test_a_plausible_recording_passes_the_range_check():
    t = np.arange(100) / 50.0
    ch = {f"{s}_{k}": np.tile([0.0, 9.81, 0.0] if k == "acc" else [0.1, 0.0, -0.1], (100, 1))
          for s in ("lower", "upper") for k in ("acc", "gyr")}
    ch["lower_gyr"][10] = [150.0, 0.0, 0.0]  # a violent but possible 8600 deg/s
    rec = make_recording(t, ch, source="x.csv", fmt="test", placement="T12", warnings=[])
    assert len(rec) == 100


@pytest.mark.parametrize(("edit", "words"), [
    (lambda d: d.pop("session"), r"found a document it cannot read \(no 'session' entry\)"),
    (lambda d: d.update(streams=3), r"found a document it cannot read"),
    (lambda d: d.update(format_version="x"), r"found a document it cannot read \(invalid literal"),
    (lambda d: d["tables"]["reps"][0].update(peak_lumbar_flexion_deg=[1, 2]),
     r"found a document it cannot read \(a table cell holds a list"),
    # each of these was stored, then broke whatever read the session back
    (lambda d: d["tables"]["reps"][0].update(peak_lumbar_flexion_deg=""),
     r"found a document it cannot read \(a number column holds ''\)"),
    (lambda d: d["tables"]["reps"][0].update(extra=2.5),
     r"found a document it cannot read \(the extra column holds a float\)"),
    (lambda d: d["person"].update(thresholds=2.5),
     r"found a document it cannot read \(person thresholds: expected a table of values"),
    (lambda d: d["streams"]["angles"].update(info={"lumbar_flexion_deg": ["deg", "a", "b", "c", "d"]}),
     r"found a document it cannot read"),
])
def test_an_export_of_the_wrong_shape_is_refused_in_one_line_and_nothing_is_imported(tmp_path, edit, words):
    doc = json.loads(seed_bundle())
    assert doc["tables"]["reps"], "the seed export has a rep to edit"
    edit(doc)
    p = tmp_path / "export.json"
    p.write_text(json.dumps(doc))
    with open_store(str(tmp_path / "s.db")) as st:
        with pytest.raises(StoreError, match=r"export\.json: expected a hingecoach session export, " + words):
            import_bundle(st, read_bundle(p), str(p))
        assert st.sessions() == []


# -- the harness ----------------------------------------------------------------------------------------
def _raise(e: BaseException):
    def target(_data: bytes) -> None:
        raise e
    return target


def test_a_rejection_must_be_one_line_and_name_the_file():
    assert run(_raise(InputError("rec.csv", "a number", "'x'", line=3)), b"", where="rec.csv").kind == "rejected"
    assert run(_raise(InputError("other.csv", "a number", "'x'")), b"", where="rec.csv").kind == "malformed"
    assert run(_raise(InputError("rec.csv", "a number", "'x'\nmore")), b"", where="rec.csv").kind == "malformed"
    assert run(_raise(Rejected("HTTP 422: stage: expected 1 to 4")), b"").kind == "rejected"
    assert run(_raise(Malformed("HTTP 400 without a detail")), b"").kind == "malformed"
    assert run(_raise(KeyError("session")), b"").kind == "traceback"


def test_a_case_over_the_limit_is_a_hang():
    def slow(_data: bytes) -> None:
        t_end = time.monotonic() + 2.0
        while time.monotonic() < t_end:
            pass
    out = run(slow, b"", hang_s=0.2)
    assert out.kind == "hang" and out.seconds < 1.0


def test_the_command_line_target_tells_a_usage_error_from_a_traceback():
    assert run(cli_args, b"analyze --bogus").kind == "rejected"
    assert run(cli_args, b"simulate x.csv --seed").kind == "rejected"
    assert run(cli_args, b"analyze nothere.csv").detail.endswith("found no such file or folder")


def test_mutations_are_reproducible_and_json_edits_stay_json():
    seed = seed_bundle()
    assert mutate(seed, random.Random(7)) == mutate(seed, random.Random(7))
    edited = [mutate_json(seed, random.Random(k)) for k in range(20)]
    assert all(e is not None and json.loads(e) != json.loads(seed) for e in edited)
    line = b"POST /api/people\n" + json.dumps({"name": "anna"}).encode()
    out = mutate_json(line, random.Random(1))
    assert out is not None and out.startswith(b"POST /api/people\n")
    assert mutate_json(b"not json", random.Random(1)) is None


def test_a_dot_header_with_a_misspelt_time_column_is_one_line(tmp_path):
    p = tmp_path / "dot.csv"
    p.write_bytes(seed_movella().replace(b",SampleTimeFine,", b",SampleTimeFineX,"))
    with pytest.raises(InputError, match=r"dot\.csv, line 4: expected a column 'SampleTimeFine' in the header, "
                                         r"found none$"):
        read_device(p, fmt="movella")


@pytest.mark.parametrize("value", ["Infinity", "NaN", "-Infinity"])
def test_a_web_body_with_a_non_finite_number_is_a_422_not_a_server_error(value):
    # Python's JSON reads NaN and Infinity; FastAPI's 422 echoed the input and could not be sent
    from hingecoach.testing.fuzz_web import app, reset

    try:
        r = app().client.post("/api/people", content=f'{{"name": {value}}}',
                              headers={"content-type": "application/json"})
        assert r.status_code == 422
        (err,) = r.json()["detail"]
        assert err["loc"] == ["body", "name"] and err["input"] is None
    finally:
        reset()


def test_stored_landmarks_of_the_wrong_shape_are_refused_in_one_line():
    from hingecoach.core.timeseries import TimeSeries
    from hingecoach.store.markers import BLAZEPOSE_NAMES, markers_of_stream

    t = np.arange(5) / 10.0
    data = {n: np.zeros((5, 2)) for n in BLAZEPOSE_NAMES}
    data[BLAZEPOSE_NAMES[3]] = np.zeros(5)  # a column lost in a damaged export
    with pytest.raises(StoreError, match=rf"landmarks: expected channel '{BLAZEPOSE_NAMES[3]}' as \(5, 2\) pixels, "
                                         r"found \(5,\)$"):
        markers_of_stream(TimeSeries(t, data))


def test_a_csv_export_with_a_broken_json_cell_is_refused_in_one_line(tmp_path):
    files = dict(parts(seed_bundle_folder()))
    head, row, *rest = files["reps.csv"].decode().splitlines()
    cells = next(csv.reader([row]))
    cells[head.split(",").index("faults")] = "[oops"
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    files["reps.csv"] = "\n".join([head, out.getvalue().strip(), *rest]).encode() + b"\n"
    folder = tmp_path / "export"
    folder.mkdir()
    for name, body in files.items():
        (folder / name).write_bytes(body)
    with open_store(str(tmp_path / "s.db")) as st:
        with pytest.raises(StoreError, match=r"export: expected a hingecoach session export, found a document it "
                                             r"cannot read \(a faults column holds '\[oops'\)$"):
            import_bundle(st, read_bundle(folder), str(folder))
        assert st.sessions() == []
