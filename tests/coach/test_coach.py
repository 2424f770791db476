"""The guided programme over scripted sessions: progression after clean sets, regression
on pain, the stop-and-refer path, the red-flag path, next-morning worsening and pain
that persists over two sessions; the rule table itself; what is recorded."""

from __future__ import annotations

import dataclasses

import pytest

from coach_helpers import NO_FLAGS, clean_sets, run_session, session_doc
from hingecoach.coach import ALL_RULES, SET_RULES, START_RULES, load, plan
from hingecoach.coach.rules import Change, Context, ProgrammeState, SetOutcome, Stop, decide
from hingecoach.coach.safety import RED_FLAG_IDS, URGENT_CARE, pain_zone
from hingecoach.coach.stages import DEFAULT_SETTINGS, STAGE_BY_NUMBER
from hingecoach.core.errors import InputError, ParameterError
from hingecoach.store import open_store

S = DEFAULT_SETTINGS


@pytest.fixture
def store(tmp_path):
    st = open_store(tmp_path / "coach.db")
    yield st
    st.close()


def _rules(out):
    return [d.rule for d in out.decisions]


# -- progression --------------------------------------------------------------------------
def test_clean_sets_walk_the_wall_drill_out_to_free_standing_then_a_load(store, tmp_path):
    out, text = run_session(store, "anna", session_doc(clean_sets(3)), tmp_path)
    assert out.outcome == "completed"
    assert _rules(out) == ["clean_first_stage", "clean_step_out", "clean_step_out"]
    assert (out.state.stage, out.state.wall_distance_cm) == (2, 10 + 3 * S.step_cm)
    assert "step out an inch or two, to 14 cm (5.5 in) from the wall" in text
    # the next session starts where this one ended: no screen again, the same distance
    p = plan(load(store, "anna"))
    assert (p["stage"], p["wall_distance_cm"], p["rule"]) == (2, 22.0, "clean_step_out")
    out2, text2 = run_session(store, "anna", session_doc(clean_sets(3), screen=False), tmp_path)
    assert "screen." not in "".join(text2.split("saddle")[:1])  # not asked
    assert _rules(out2) == ["clean_step_out", "clean_leave_wall", "clean_free_standing"]
    assert (out2.state.stage, out2.state.wall_distance_cm, out2.state.furthest_wall_cm) == (3, None, 26.0)
    assert out2.state.clean_sets == 1
    out3, _ = run_session(store, "anna", session_doc(clean_sets(2), screen=False), tmp_path)
    assert _rules(out3) == ["clean_to_load", "clean_loaded"]
    assert out3.state.stage == 4 and STAGE_BY_NUMBER[4].exercise == "deadlift"
    hist = load(store, "anna").history
    assert [h.stage_after for h in hist] == [2, 3, 4] and all(h.outcome == "completed" for h in hist)


def test_no_load_without_clean_pain_free_sets(store, tmp_path):
    """Free-standing: a faulty set or a set with pain above the safe zone resets the
    count of clean sets; the load comes only after two clean pain-free sets in a row."""
    run_session(store, "ben", session_doc(clean_sets(1)), tmp_path)  # screened
    from hingecoach.coach.session import record_plan

    record_plan(store, "ben", stage=3, set_by="PT Lee", note="moves well")
    sets = [{"reps": 5, "pain": 1}, {"reps": ["ok", "too_fast", "ok", "ok", "ok"], "pain": 1},
            {"reps": 5, "pain": 4}, {"reps": 5, "pain": 1}, {"reps": 5, "pain": 1}]
    out, _ = run_session(store, "ben", session_doc(sets, pain_now=3, screen=False), tmp_path)
    assert _rules(out) == ["clean_free_standing", "faulty_set", "pain_acceptable_hold", "clean_free_standing",
                           "clean_to_load"]
    assert out.state.stage == 4


def test_mostly_faulty_sets_step_back_in(store, tmp_path):
    bad = ["lumbar_rounding", "lumbar_rounding", "ok", "lumbar_rounding+shallow_hinge", "ok"]
    sets = [*clean_sets(2), {"reps": bad, "pain": 1}, {"reps": bad, "pain": 1}]
    out, text = run_session(store, "cara", session_doc(sets), tmp_path)
    assert _rules(out) == ["clean_first_stage", "clean_step_out", "faulty_set", "mostly_faulty_again"]
    assert (out.state.stage, out.state.wall_distance_cm) == (2, 14.0)  # 18 cm -> back to 14 cm
    assert "one step easier" in text


# -- regression on pain ---------------------------------------------------------------------
def test_pain_above_5_ends_the_set_and_moves_back_a_stage(store, tmp_path):
    run_session(store, "dan", session_doc(clean_sets(6)), tmp_path)  # out to free-standing
    assert load(store, "dan").state.stage == 3
    out, text = run_session(store, "dan", session_doc([{"reps": 5, "pain": 6}, {"reps": 5, "pain": 2}],
                                                      pain_now=2, screen=False), tmp_path)
    assert _rules(out)[0] == "pain_not_acceptable"
    d = out.decisions[0]
    assert (d.change, d.stop) == (Change.back_stage, Stop.set)
    assert d.after.stage == 2 and d.after.wall_distance_cm == 26.0  # back to the last wall distance
    assert "Pain above 5 of 10 (6) is not acceptable" in text
    # the session went on at the easier stage: a clean set there steps out again
    assert out.outcome == "completed" and _rules(out)[1] == "clean_leave_wall"


def test_pain_two_points_above_the_start_moves_back_and_pain_during_a_set_ends_it(store, tmp_path):
    out, _ = run_session(store, "eve", session_doc([*clean_sets(2), {"reps": 3, "pain_during": 4}],
                                                   pain_now=2), tmp_path)
    assert _rules(out) == ["clean_first_stage", "clean_step_out", "pain_rising"]
    assert (out.state.stage, out.state.wall_distance_cm) == (1, 10.0)
    rec = store.session(out.session_id)
    last = rec.sets[-1]
    assert last.data["ended_by"] == "pain" and last.data["reps"] == 3 and last.data["pain"] == 4
    assert [(p.moment, p.value, p.set_idx) for p in rec.pain] == [
        ("before", 2, None), ("set", 1, 1), ("set", 1, 2), ("during", 4, 3), ("after", 1, None)]


def test_pain_at_the_first_stage_stops_the_session(store, tmp_path):
    out, _ = run_session(store, "fay", session_doc([{"reps": 5, "pain": 7}, *clean_sets(2)]), tmp_path)
    assert _rules(out) == ["pain_at_first_stage"]
    assert out.outcome == "stopped_for_pain" and out.sets == 1
    assert "stop for today" in out.message and out.state.referral is None


# -- stop and refer ---------------------------------------------------------------------------
def test_pain_again_after_easing_stops_and_refers_until_a_clinician_agrees(store, tmp_path):
    sets = [*clean_sets(2), {"reps": 5, "pain": 6}, {"reps": 5, "pain": 6}, *clean_sets(2)]
    out, _ = run_session(store, "gus", session_doc(sets, pain_now=2), tmp_path)
    assert _rules(out) == ["clean_first_stage", "clean_step_out", "pain_not_acceptable",
                           "pain_again_after_easing"]
    assert out.outcome == "referral" and out.sets == 4
    assert "see a doctor or physical therapist" in out.message
    p = plan(load(store, "gus"))
    assert p["blocked"] and "doctor or physical therapist" in p["blocked"]
    # next time: no exercise until they say a clinician agreed
    out2, _ = run_session(store, "gus", {"referral_cleared": False, "pain_now": 1}, tmp_path)
    assert out2.outcome == "referral" and out2.sets == 0
    assert [e.kind for e in store.session(out2.session_id).events] == ["referral_answer"]
    out3, _ = run_session(store, "gus", {"referral_cleared": True, "pain_now": 1, "next_morning": 1,
                                         "sets": clean_sets(1), "pain_after": 1}, tmp_path)
    assert out3.outcome == "completed" and out3.state.referral is None
    assert out3.decisions[0].before.stage == 1  # it picks up at the easier stage it was moved to


def test_worse_next_morning_reduces_and_refers(store, tmp_path):
    run_session(store, "hal", session_doc(clean_sets(3), pain_now=2), tmp_path)
    assert load(store, "hal").state.stage == 2
    out, _ = run_session(store, "hal", {"next_morning": 4, "pain_now": 2}, tmp_path)
    assert _rules(out) == ["worse_next_morning"] and out.outcome == "referral"
    assert out.state.stage == 1 and out.state.referral
    assert "worse the morning after" in out.message and "doctor or physical therapist" in out.message
    # the rating is stored with the session it is about
    first = load(store, "hal").history[0]
    assert first.next_morning == 4
    assert [p.value for p in store.session(first.id).pain if p.moment == "next_morning"] == [4]


def test_next_morning_rated_with_the_pain_command_counts_too(store, tmp_path):
    run_session(store, "ida", session_doc(clean_sets(1), pain_now=3), tmp_path)
    sid = load(store, "ida").history[-1].id
    store.add_pain(sid, 5, "next_morning")  # hingecoach pain SID --next-morning 5
    out, _ = run_session(store, "ida", {"pain_now": 3}, tmp_path)  # next_morning not asked again
    assert _rules(out) == ["worse_next_morning"]


def test_pain_persisting_over_two_sessions_refers(store, tmp_path):
    out1, _ = run_session(store, "jon", session_doc(clean_sets(3), pain_now=2, pain_after=5), tmp_path)
    assert _rules(out1)[-1] == "pain_after_session" and out1.state.stage == 1  # 2 -> 1 for next time
    assert load(store, "jon").history[-1].had_pain
    out2, _ = run_session(store, "jon", session_doc(clean_sets(1), pain_now=2, pain_after=4, next_morning=2,
                                                    screen=False), tmp_path)
    assert _rules(out2)[-1] == "pain_persists" and out2.outcome == "referral"
    assert "two sessions in a row" in out2.message


def test_pain_now_above_5_means_no_exercise_and_twice_means_referral(store, tmp_path):
    out, _ = run_session(store, "kim", {"screen": NO_FLAGS, "pain_now": 7}, tmp_path)
    assert (out.outcome, out.sets, _rules(out)) == ("no_exercise", 0, ["pain_now_not_acceptable"])
    out2, _ = run_session(store, "kim", {"pain_now": 8}, tmp_path)
    assert (out2.outcome, _rules(out2)) == ("referral", ["pain_persists_start"])


# -- red flags ----------------------------------------------------------------------------------
def test_a_red_flag_means_no_exercise_urgent_care_and_it_is_recorded(store, tmp_path):
    flags = dict(NO_FLAGS, leg_weakness=True)
    out, text = run_session(store, "lou", {"screen": flags, "pain_now": 2, "sets": clean_sets(1)}, tmp_path)
    assert out.outcome == "red_flags" and out.message.startswith(URGENT_CARE) and out.sets == 0
    assert "emergency department" in out.message and out.urgency == "emergency"
    assert "pain_now" not in [k for k in text.splitlines() if k.startswith("How much")]
    rec = store.session(out.session_id)
    (ev,) = rec.events
    assert ev.kind == "red_flag_screen" and ev.data["red_flags"] == ["leg_weakness"]
    assert ev.data["answers"] == flags and rec.pain == [] and rec.sets == []
    assert rec.extra["programme"]["outcome"] == "red_flags"
    p = plan(load(store, "lou"))
    assert p["blocked"].startswith("no exercise") and "leg_weakness" in p["blocked"]
    # the screen is asked again; all no lets the person start
    out2, _ = run_session(store, "lou", session_doc(clean_sets(1)), tmp_path)
    assert out2.outcome == "completed" and out2.state.red_flags == ()


@pytest.mark.parametrize("flag", RED_FLAG_IDS)
def test_every_red_flag_stops(store, tmp_path, flag):
    out, _ = run_session(store, "max", {"screen": dict(NO_FLAGS, **{flag: True})}, tmp_path)
    assert out.outcome == "red_flags" and out.state.red_flags == (flag,)


# -- the rule table as data -------------------------------------------------------------------------
def _ctx(stage=1, distance=None, pain=1, start=1, faults=None, reps=5, **kw):
    st = ProgrammeState(stage=stage, wall_distance_cm=distance, screened=True,
                        **{k: v for k, v in kw.items() if k in ("clean_sets", "faulty_sets", "furthest_wall_cm")})
    rep_faults = tuple(tuple(f) for f in (faults or [()] * reps))
    extra = {k: v for k, v in kw.items() if k in ("eased_for_pain_today",)}
    return Context(st, S, pain_start=start, set=SetOutcome(rep_faults, pain), **extra)


EXAMPLES = {  # a context that each set rule must be the first to match
    "pain_again_after_easing": _ctx(stage=2, distance=14, pain=6, eased_for_pain_today=True),
    "pain_at_first_stage": _ctx(stage=1, pain=3, start=1),
    "pain_not_acceptable": _ctx(stage=3, pain=6, start=5),
    "pain_rising": _ctx(stage=4, pain=5, start=3),
    "mostly_faulty_again": _ctx(stage=2, distance=22, faults=[("lumbar_rounding",)] * 3 + [()] * 2,
                                faulty_sets=1),
    "short_set": _ctx(stage=2, distance=14, reps=4),
    "pain_acceptable_hold": _ctx(stage=2, distance=14, pain=4, start=4),
    "faulty_set": _ctx(stage=2, distance=14, faults=[("too_fast",)] + [()] * 4),
    "clean_first_stage": _ctx(stage=1),
    "clean_leave_wall": _ctx(stage=2, distance=26),
    "clean_step_out": _ctx(stage=2, distance=14),
    "clean_to_load": _ctx(stage=3, clean_sets=1),
    "clean_free_standing": _ctx(stage=3, clean_sets=0),
    "clean_loaded": _ctx(stage=4),
}


@pytest.mark.parametrize("rule", [r.id for r in SET_RULES])
def test_each_set_rule_applies_first_to_its_example(rule):
    d = decide(SET_RULES, EXAMPLES[rule])
    assert d is not None and d.rule == rule
    assert d.message and "{" not in d.message and d.after.reason == d.message


def test_rule_table_is_complete_and_plain():
    assert len({r.id for r in ALL_RULES}) == len(ALL_RULES)
    assert set(EXAMPLES) == {r.id for r in SET_RULES}
    for r in ALL_RULES:
        assert r.say.count(".") >= 1 and r.why, r.id  # one sentence said, and its source
        assert "diagnos" not in r.say.lower()
    # every set that ends gets a rule: any reps, pain and stage
    for stage in (1, 2, 3, 4):
        for pain in range(11):
            for faults in ([()] * 5, [("lumbar_rounding",)] * 5, [()] * 2):
                assert decide(SET_RULES, _ctx(stage=stage, distance=14 if stage < 3 else None, pain=pain,
                                              start=2, faults=faults)) is not None
    assert {r.effect.stop for r in START_RULES} <= {Stop.refer, Stop.session}


def test_pain_zones_follow_the_monitoring_model():
    assert [pain_zone(v) for v in range(11)] == ["safe"] * 4 + ["acceptable"] * 2 + ["not_acceptable"] * 5
    for bad in (-1, 11, 4.5, True, "3"):
        with pytest.raises(ParameterError):
            pain_zone(bad)


def test_state_survives_older_and_newer_stored_versions():
    st = ProgrammeState.from_json({"stage": 3, "furthest_wall_cm": 26.0, "a_future_field": 1})
    assert (st.stage, st.furthest_wall_cm) == (3, 26.0)
    assert ProgrammeState.from_json({"stage": 9}).stage == 1
    assert ProgrammeState.from_json(dataclasses.asdict(st) | {"red_flags": ["fever_weight_loss"]}).red_flags == (
        "fever_weight_loss",)


# -- the clinician's plan -----------------------------------------------------------------------------
def test_a_clinicians_plan_sets_stage_distance_and_clears_a_referral(store, tmp_path):
    from hingecoach.coach.session import record_plan

    run_session(store, "ned", {"screen": NO_FLAGS, "pain_now": 7}, tmp_path)
    run_session(store, "ned", {"pain_now": 7}, tmp_path)
    assert load(store, "ned").state.referral
    record_plan(store, "ned", stage=2, wall_distance_cm=18, clear_referral=True, set_by="PT Lee",
                note="seen on Monday")
    p = plan(load(store, "ned"))
    assert (p["stage"], p["wall_distance_cm"], p["blocked"]) == (2, 18.0, None)
    assert p["reason"] == "PT Lee set stage 2 at 18 cm: seen on Monday"
    for bad in ({"stage": 5}, {"stage": 3, "wall_distance_cm": 20}, {"stage": 1, "wall_distance_cm": 500},
                {"stage": 2, "set_by": ""}, {"stage": True}):
        with pytest.raises(ParameterError):
            record_plan(store, "ned", **{"set_by": "PT Lee", **bad})


# -- script files ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("doc", "needle"), [
    ({"pain_nwo": 2}, "did you mean 'pain_now'"),
    ({"screen": dict(NO_FLAGS, feverr=True)}, "screen.feverr"),
    ({"sets": [{"reps": ["ok", "lumbar_roundin"]}]}, "did you mean 'lumbar_rounding'"),
])
def test_script_typos_are_named(store, tmp_path, doc, needle):
    with pytest.raises(InputError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        run_session(store, "olga", {"screen": NO_FLAGS, "pain_now": 1, **doc}, tmp_path)


def test_script_missing_or_bad_answers_are_named(store, tmp_path):
    with pytest.raises(InputError, match=r"column 'pain_now': expected an answer for 'pain_now'"):
        run_session(store, "pia", {"screen": NO_FLAGS}, tmp_path)
    with pytest.raises(InputError, match=r"sets\[1\].pain'?: expected a whole number from 0 to 10, found 11"):
        run_session(store, "pia", session_doc([{"reps": 5, "pain": 11}], screen=False), tmp_path)
    with pytest.raises(InputError, match=r"reps in sets\[1\] \(there is no --source"):
        run_session(store, "pia", session_doc([{"pain": 1}], screen=False), tmp_path)
