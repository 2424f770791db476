"""The live loop over a simulated UDP link: two sensor clocks with offset and drift,
loss, reordering, duplicates, a silent sensor, and bad input that is flagged, never fatal."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hingecoach.analysis import analyze_recording
from hingecoach.live import LiveSession
from hingecoach.sources.simulator import SimSettings, simulate
from hingecoach.testing.link_sim import LinkSettings, ScheduledTransport, Sent, VirtualClock, schedule
from live_helpers import assert_cues_match_truth, lower_to_true, run_link, settings


# -- the link: clocks, loss, reordering, silence ----------------------------------------------
def test_two_clocks_with_offset_and_drift_give_the_offline_reps():
    rec, _, truth = simulate(SimSettings(pattern="mixed", reps=8, seed=3))
    link = LinkSettings(lower_clock=(5000.0, 50e-6), upper_clock=(-3.0, -60e-6), jitter_s=0.002, seed=1)
    s, _ = run_link(rec, link)
    offline = analyze_recording(rec)
    back = lower_to_true(link)
    assert len(s.reps) == len(offline.reps)
    for m, n in zip(offline.reps, s.reps, strict=True):
        assert back(n.start_s) == pytest.approx(m.start_s, abs=0.021)
        assert n.faults == m.faults
        assert n.peak_lumbar_flexion_deg == pytest.approx(m.peak_lumbar_flexion_deg, abs=1.0)
    assert s.stats["link"]["clock"]["upper_vs_lower_ppm"] == pytest.approx(-110.0, abs=10.0)
    assert_cues_match_truth(s.cues, truth, back)


@pytest.mark.parametrize("silent", ["lower", "upper"])
def test_loss_reordering_and_a_silent_sensor(silent):
    """5 % lost, 2 % reordered, 1 % duplicated, one sensor silent for 2 s from the start of
    a rounded rep: every rounded rep still gets its cue, the gap is reported, the session
    runs to the end."""
    rec, _, truth = simulate(SimSettings(pattern=["good", "rounded", "rounded", "good", "rounded",
                                                  "overextended", "rounded"], seed=11))
    rounded = [r for r in truth if r.pattern == "rounded"]
    link = LinkSettings(loss=0.05, reorder=0.02, duplicate=0.01, silent=(silent, rounded[1].start_s, 2.0),
                        lower_clock=(100.0, 20e-6), upper_clock=(7.0, -30e-6), seed=4)
    s, events = run_link(rec, link)
    assert s.reason == "source ended"
    back = lower_to_true(link)
    lumbar = [back(c.sample_time_s) for c in s.cues if c.fault == "lumbar_rounding"]
    for r in rounded:
        assert len([t for t in lumbar if r.start_s <= t <= r.end_s]) == 1, r.index
    for r in truth:
        if r.pattern == "good":
            assert not [t for t in lumbar if r.start_s <= t <= r.end_s]
    gaps = [e for e in events if e["type"] == "gap" and e["state"] == "closed"]
    assert len(gaps) == 1 and gaps[0]["sensor"] == silent and gaps[0]["duration_s"] == pytest.approx(2.0, abs=0.05)
    st = s.stats["link"]["sensors"]
    for k in ("lower", "upper"):
        assert st[k]["duplicates"] > 0 and st[k]["reordered"] > 0
    assert len(s.reps) == len(truth)


def test_bad_input_is_counted_and_flagged_never_fatal():
    rec, _, truth = simulate(SimSettings(pattern=["rounded", "good", "rounded"], seed=5))
    sent = schedule(rec, LinkSettings(seed=2))
    rng = np.random.default_rng(0)
    junk = [b"not json", b'{"sensor": "middle", "t": 1, "acc": [0,0,9.8], "gyr": [0,0,0]}',
            b'{"sensor": "lower", "t": "x", "acc": [0,0,9.8], "gyr": [0,0,0]}', b"\x00\xff" * 10]
    extra = []
    for k in range(400):
        s = sent[int(rng.integers(len(sent)))]
        extra.append(Sent(s.arrival_s + 1e-5, s.sent_s, s.sensor, s.row, junk[k % len(junk)]))
    # NaN values in real samples: held, counted
    for k in rng.choice(len(sent), 200, replace=False):
        s = sent[int(k)]
        obj = json.loads(s.data)
        obj["acc"][1] = float("nan")
        sent[int(k)] = Sent(s.arrival_s, s.sent_s, s.sensor, s.row, json.dumps(obj).encode())
    allsent = sorted(sent + extra, key=lambda x: x.arrival_s)
    clock = VirtualClock()
    events: list[dict] = []
    summ = LiveSession("udp:127.0.0.1:9", settings(), on_event=events.append,
                       transport=ScheduledTransport(allsent, clock), clock=clock).run()
    assert summ.stats["bad_input"] == {"malformed": 200, "unknown_sensor": 100, "bad_field": 100}
    nan = sum(v["nan_values"] + v["dropped_nan"] for v in summ.stats["link"]["sensors"].values())
    assert nan == 200
    warnings = [e for e in events if e["type"] == "warning"]
    # rate-limited: one per kind per 5 s of session, each with its count
    assert 3 <= len(warnings) <= 3 * (rec.duration_s / 5 + 1)
    offline = analyze_recording(rec)
    assert [m.faults for m in summ.reps] == [m.faults for m in offline.reps]
    assert_cues_match_truth(summ.cues, truth)
