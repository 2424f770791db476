"""The cue engine (one rounding, one cue), the tone, the sound worker and the terminal view."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from rich.console import Console

from hingecoach.faults import default_thresholds
from hingecoach.feedback.audio import AplayPlayer, AudioOut, AudioSettings, NoPlayer, tone
from hingecoach.feedback.cues import CueEngine, CueSettings
from hingecoach.feedback.display import LiveDisplay, gauge

TH = default_thresholds("T12")  # lumbar_rounding 20, top_overextension 8
RATE = 100.0


def run(engine: CueEngine, lumbar, trunk=None, t0: float = 0.0):
    cues = []
    for k, v in enumerate(lumbar):
        tr = 60.0 if trunk is None else trunk[k]
        cues += engine.update(t0 + k / RATE, {"lumbar_flexion_deg": v, "trunk_inclination_deg": tr})
    return cues


def test_one_rounding_is_one_cue_even_when_it_hovers_at_the_threshold():
    rng = np.random.default_rng(0)
    t = np.arange(600) / RATE
    # 6 s swaying 3 deg around the threshold (1.5 Hz) with noise: over it 9 times for 0.3 s each
    lumbar = 20.0 + 3.0 * np.sin(2 * np.pi * 1.5 * t) + rng.normal(0, 0.5, t.size)
    cues = run(CueEngine(TH), lumbar)
    assert len(cues) == 1
    assert cues[0].fault == "lumbar_rounding" and cues[0].threshold_deg == 20.0
    # white noise over the line: one cue once 0.1 s in a row is over, then never again
    assert len(run(CueEngine(TH), 22.0 + rng.normal(0, 2.0, 600))) == 1


def test_the_value_must_stay_over_the_threshold_for_the_minimum_duration():
    spike = [0.0] * 50 + [30.0] * 9 + [0.0] * 50  # 90 ms over: shorter than 100 ms
    assert run(CueEngine(TH), spike) == []
    held = [0.0] * 50 + [30.0] * 11 + [0.0] * 50
    (cue,) = run(CueEngine(TH), held)
    # it fires at the sample where 0.1 s over is reached, with that sample's value and time
    assert cue.sample_time_s == pytest.approx(0.60) and cue.value_deg == 30.0


def test_a_second_rounding_needs_a_clear_correction_first():
    eng = CueEngine(TH)
    # over, a shallow dip to 17 (not below 20 - 5) for a second, over again: one cue
    x = [25.0] * 50 + [17.0] * 100 + [25.0] * 50
    assert len(run(eng, x)) == 1
    # a correction to 10 deg for only 0.3 s (re-arm needs 0.5 s): still the same rounding
    x2 = [10.0] * 30 + [25.0] * 50
    assert run(eng, x2, t0=2.0) == []
    # corrected for 0.6 s: a new rounding is a new cue
    x3 = [10.0] * 60 + [25.0] * 50
    assert len(run(eng, x3, t0=2.8)) == 1


def test_top_overextension_only_in_the_top_after_a_rep():
    eng = CueEngine(TH, CueSettings(rules=("top_overextension",)))
    standing_lean = [-12.0] * 100  # leaning back with no rep before: not the top of a rep
    assert run(eng, standing_lean, trunk=[0.0] * 100) == []
    # a rep ended at 10.5 s (the caller says so, with the standing reference before it);
    # then a lean-back of 12 deg: cue
    eng.open_top(10.5, 0.0)
    cues = run(eng, [0.0] * 20 + [-12.0] * 80, [0.0] * 100, t0=10.6)
    assert [c.fault for c in cues] == ["top_overextension"]
    assert cues[0].value_deg == pytest.approx(12.0) and cues[0].threshold_deg == 8.0
    # more than 1.5 s after the rep the top is over
    late = CueEngine(TH, CueSettings(rules=("top_overextension",)))
    late.open_top(10.0, 0.0)
    assert run(late, [-12.0] * 50, [0.0] * 50, t0=11.6) == []


def test_extension_is_measured_from_the_standing_posture_before_the_rep():
    eng = CueEngine(TH, CueSettings(rules=("top_overextension",)))
    # the zero has drifted: standing read -6 before the rep; -12 is 6 beyond it: no cue
    eng.open_top(1.0, -6.0)
    assert run(eng, [-12.0] * 100, [0.0] * 100, t0=1.0) == []
    eng.open_top(5.0, -6.0)
    assert len(run(eng, [-15.0] * 100, [0.0] * 100, t0=5.0)) == 1


def test_rules_without_a_threshold_are_off_and_unknown_rules_refused():
    eng = CueEngine(TH)  # neck_craning has no IMU threshold
    assert [r.fault for r, _ in eng.rules] == ["lumbar_rounding", "top_overextension"]
    cam = CueEngine(default_thresholds("camera", camera_rounding_deg=40.0), placement="camera")
    assert {r.fault for r, _ in cam.rules} == {"lumbar_rounding", "top_overextension", "neck_craning"}
    with pytest.raises(Exception, match="cue rules"):
        CueEngine(TH, CueSettings(rules=("lumbar_rounding", "too_fast")))


def test_cue_event_format():
    (cue,) = run(CueEngine(TH), [30.0] * 20)
    ev = cue.to_event()
    assert set(ev) == {"type", "fault", "sample_time_s", "value_deg", "threshold_deg", "message", "phrase"}
    assert ev["type"] == "cue" and ev["fault"] == "lumbar_rounding" and ev["phrase"] == "Keep your back flat."


# -- sound ----------------------------------------------------------------------------------------
def test_tone_is_a_short_clean_sine():
    s = AudioSettings(tone_hz=880.0, tone_s=0.15, volume=0.5, sample_rate_hz=44_100)
    x = tone(s)
    assert x.dtype == np.int16 and x.size == round(0.15 * 44_100)
    assert abs(int(x[0])) < 50 and abs(int(x[-1])) < 50  # faded in and out: no click
    assert 0.45 * 32767 < np.abs(x).max() <= 0.5 * 32767 + 1
    spec = np.abs(np.fft.rfft(x.astype(float)))
    peak_hz = np.argmax(spec) * 44_100 / x.size
    assert peak_hz == pytest.approx(880.0, abs=44_100 / x.size)


class FakePlayer:
    name = "fake"

    def __init__(self, fail_after: int | None = None) -> None:
        self.played = 0
        self.fail_after = fail_after

    def play(self, buf):
        if self.fail_after is not None and self.played >= self.fail_after:
            raise OSError("device unplugged")
        self.played += 1

    def close(self):
        pass


def test_audio_worker_measures_onsets_and_survives_a_vanished_device():
    warnings: list[str] = []
    player = FakePlayer(fail_after=2)
    out = AudioOut(AudioSettings(speech=False), warn=warnings.append, player_factory=lambda s: player)
    for _ in range(4):
        out.cue(time.perf_counter())
    out.close()
    assert player.played == 2 and len(out.onsets_ms) == 2 and all(0 <= x < 1000 for x in out.onsets_ms)
    assert len(warnings) == 1 and "device unplugged" in warnings[0] and out.status.startswith("none")


def test_no_sound_device_is_a_warning_not_an_error():
    warnings: list[str] = []

    def none(s):
        raise NoPlayer("no sound output device")

    out = AudioOut(AudioSettings(speech=False), warn=warnings.append, player_factory=none)
    out.cue(time.perf_counter())
    out.close()
    assert warnings == ["no sound: no sound output device; cues are shown and recorded"]
    assert out.played == 0


def test_aplay_without_a_device_says_why(tmp_path, monkeypatch):
    # a HOME whose ALSA default is a device that does not exist
    (tmp_path / ".asoundrc").write_text('pcm.!default { type hw card 99 }\n')
    monkeypatch.setenv("HOME", str(tmp_path))
    import shutil

    if shutil.which("aplay") is None:
        pytest.skip("aplay (alsa-utils) not installed")
    with pytest.raises(NoPlayer, match="aplay"):
        AplayPlayer(44_100)


# -- terminal view ------------------------------------------------------------------------------
def test_gauge_marks_the_threshold_and_turns_red_above_it():
    g = gauge(10.0, 20.0, lo=0.0, hi=40.0, width=40)
    assert g.plain.count("#") == 10 and g.plain[20] == "|"
    over = gauge(30.0, 20.0, lo=0.0, hi=40.0, width=40)
    assert any("red" in str(s.style) for s in over.spans)


def test_display_prints_lines_when_not_a_terminal():
    buf = io.StringIO()
    d = LiveDisplay(Console(file=buf, force_terminal=False, width=200))
    d.update({"type": "angles", "t": 1.0, "lumbar_flexion_deg": 12.0})
    d.update({"type": "cue", "fault": "lumbar_rounding", "sample_time_s": 3.2, "value_deg": 24.0,
              "threshold_deg": 20.0, "phrase": "Keep your back flat."})
    d.update({"type": "rep", "index": 1, "start_s": 1.0, "end_s": 4.0, "peak_lumbar_flexion_deg": 30.0,
              "faults": ["lumbar_rounding"], "complete": True})
    text = buf.getvalue()
    assert "cue at 3.20 s: lumbar_rounding 24.0 deg" in text and "rep 1 1.0-4.0 s" in text
    assert "angles" not in text
    # the live view renders the state
    render = io.StringIO()
    Console(file=render, width=120).print(d)
    assert "reps 1" in render.getvalue() and "cues 1" in render.getvalue()
