"""The red-flag screen's urgencies and a clinician's clearance, over scripted sessions:
each flag alone, a clearance, a flag after a clearance, an emergency flag after any
clearance, a revoked clearance; the table itself (urgency, message, source)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from coach_helpers import NO_FLAGS, clean_sets, session_doc, toml
from hingecoach.coach import load, plan, plan_lines
from hingecoach.coach.drive import TerminalIo, drive
from hingecoach.coach.safety import (
    CHANGED_QUESTION,
    FLAG_BY_ID,
    RED_FLAG_IDS,
    RED_FLAGS,
    URGENCIES,
    screen_message,
)
from hingecoach.coach.screen import clear_red_flag, unclear_red_flag
from hingecoach.coach.script import Script
from hingecoach.coach.session import Outcome, ProgrammeSession
from hingecoach.core.errors import InputError, NotFoundError, ParameterError
from hingecoach.store import Store, open_store

REFERENCES = Path(__file__).resolve().parents[2] / "docs" / "references.md"
EMERGENCY = [f.id for f in RED_FLAGS if f.urgency == "emergency"]
CHANGED = "screen.changed_since_clearance"


@pytest.fixture
def store(tmp_path):
    st = open_store(tmp_path / "screen.db")
    yield st
    st.close()


def session(store: Store, person: str, doc: dict[str, Any], tmp: Path) -> tuple[Outcome, list[str], str]:
    """One scripted session: its outcome, the keys asked (in order) and what was printed."""
    path = tmp / f"s-{len(list(tmp.glob('s-*.toml')))}.toml"
    path.write_text(toml(doc), encoding="utf-8")
    sc = Script.load(path)
    buf = io.StringIO()
    out = drive(ProgrammeSession(store, person), TerminalIo(Console(file=buf, width=400)), script=sc)
    return out, sc.asked, buf.getvalue()


def screen_keys(asked: list[str]) -> list[str]:
    return [k.removeprefix("screen.") for k in asked if k.startswith("screen.")]


def full(doc_screen: dict[str, bool] | None = None, **more: Any) -> dict[str, Any]:
    """A whole session's answers; the screen answers every question (unasked ones are ignored)."""
    doc = session_doc(clean_sets(1), screen=False, **more)
    doc["screen"] = {**NO_FLAGS, "changed_since_clearance": False, **(doc_screen or {})}
    return doc


# -- the table ---------------------------------------------------------------------------------
def test_every_red_flag_has_an_urgency_a_message_and_a_source():
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', REFERENCES.read_text(encoding="utf-8")))
    assert {f.urgency for f in RED_FLAGS} == set(URGENCIES)
    for f in RED_FLAGS:
        assert f.urgency in URGENCIES and len(f.message) > 40 and f.question.endswith("?")
        (anchor,) = re.findall(r"docs/references.md#([\w-]+)", f.source)
        assert anchor in anchors, f.id
        # what to do and how soon, nothing diagnostic
        assert not re.search(r"cauda|equina|fracture|infection|tumou?r|metasta|syndrome", f.message, re.I)
    assert [f.id for f in RED_FLAGS if f.urgency == "emergency"] == ["saddle_numbness", "bladder_bowel",
                                                                     "leg_weakness"]
    assert {f.id for f in RED_FLAGS if f.urgency == "soon"} == {"recent_trauma", "fever_weight_loss"}
    assert FLAG_BY_ID["cancer_history"].urgency == "review"


@pytest.mark.parametrize("flag", RED_FLAG_IDS)
def test_wording_matches_the_urgency(flag):
    f, msg = FLAG_BY_ID[flag], screen_message([flag])
    assert f.message in msg and msg.endswith("not a diagnosis.")
    if f.urgency == "emergency":
        assert "emergency department" in msg and "now" in msg
    elif f.urgency == "soon":
        assert "within the next day" in msg and "emergency" not in msg.lower()
    else:  # calm, says why, no emergency of any kind
        assert "emergency" not in msg.lower() and "urgent care" not in msg.lower()
        assert "not urgent" in msg and "Because you have had cancer" in msg


def test_emergency_flags_cannot_be_cleared_and_unknown_flags_are_named(store):
    for f in EMERGENCY:
        with pytest.raises(ParameterError, match="emergency sign"):
            clear_red_flag(store, "ann", f, set_by="Dr Rao")
    with pytest.raises(ParameterError, match="did you mean 'cancer_history'"):
        clear_red_flag(store, "ann", "cancer_histry", set_by="Dr Rao")
    with pytest.raises(ParameterError, match="set_by"):
        clear_red_flag(store, "ann", "cancer_history", set_by="  ")
    assert store.clearances("ann") == []


# -- each flag alone -------------------------------------------------------------------------------
@pytest.mark.parametrize("flag", RED_FLAG_IDS)
def test_each_flag_alone_ends_the_session_before_any_exercise(store, tmp_path, flag):
    out, asked, text = session(store, "bo", full({flag: True}), tmp_path)
    f = FLAG_BY_ID[flag]
    assert (out.outcome, out.urgency, out.state.red_flags, out.sets) == ("red_flags", f.urgency, (flag,), 0)
    assert out.message == screen_message([flag]) and "pain_now" not in asked
    shown = " ".join(text.split())  # the one yes is this flag's
    assert shown.count("→ yes") == 1 and shown.index("→ yes") > shown.index(f.question)
    assert screen_keys(asked) == list(RED_FLAG_IDS)  # first use: all six, no change question
    (ev,) = store.session(out.session_id).events
    assert ev.data["red_flags"] == [flag] and ev.data["urgency"] == f.urgency
    p = plan(load(store, "bo"))
    assert flag in p["blocked"] and p["red_flags"] == [{"id": flag, "urgency": f.urgency}]
    if f.urgency == "review":
        assert p["blocked"].startswith("waiting for a doctor's review") and "emergency" not in p["blocked"]
    # the next session, answering no everywhere
    out2, asked2, _ = session(store, "bo", full(), tmp_path)
    if f.urgency == "review":  # it holds until cleared, without asking again: calm, says why
        assert screen_keys(asked2) == EMERGENCY
        assert (out2.outcome, out2.urgency, out2.state.red_flags) == ("red_flags", "review", (flag,))
        assert "emergency" not in out2.message.lower() and "pain_now" not in asked2
    else:  # asked again; all no lets the person start
        assert screen_keys(asked2) == list(RED_FLAG_IDS)
        assert out2.outcome == "completed" and out2.state.red_flags == ()


# -- a clearance -----------------------------------------------------------------------------------
def test_a_clearance_replaces_the_question_with_what_changed_since(store, tmp_path):
    out, _, _ = session(store, "cat", full({"cancer_history": True}), tmp_path)
    assert out.urgency == "review"
    c = clear_red_flag(store, "cat", "cancer_history", set_by="Dr Rao", note="in remission since 2019")
    assert (c.set_by, c.note, c.active) == ("Dr Rao", "in remission since 2019", True)
    lines = plan_lines(plan(load(store, "cat")))
    assert any("red flag cancer_history cleared by Dr Rao on " + c.cleared_at[:10] + ": in remission" in x
               for x in lines)
    # the cancer answer in the file is ignored: that question is not asked
    out2, asked2, text2 = session(store, "cat", full({"cancer_history": True}), tmp_path)
    assert screen_keys(asked2) == [*RED_FLAG_IDS[:-1], "changed_since_clearance"]
    assert CHANGED_QUESTION in text2 and "cleared by Dr Rao" in text2
    assert out2.outcome == "completed" and out2.sets == 1
    ev = next(e for e in store.session(out2.session_id).events if e.kind == "red_flag_screen")
    assert ev.data["cleared"] == ["cancer_history"] and ev.data["changed_since_clearance"] is False
    # every later session: the emergency signs and the change question, nothing else
    out3, asked3, _ = session(store, "cat", full(), tmp_path)
    assert screen_keys(asked3) == [*EMERGENCY, "changed_since_clearance"] and out3.outcome == "completed"
    assert [x.flag for x in store.clearances("cat")] == ["cancer_history"]


def test_a_soon_flag_can_be_cleared_after_a_doctors_assessment(store, tmp_path):
    session(store, "dee", full({"recent_trauma": True}), tmp_path)
    clear_red_flag(store, "dee", "recent_trauma", set_by="Dr Ng", note="examined, no injury")
    out, asked, _ = session(store, "dee", full({"recent_trauma": True}), tmp_path)
    assert "recent_trauma" not in screen_keys(asked) and "changed_since_clearance" in screen_keys(asked)
    assert out.outcome == "completed"


def test_the_change_question_must_be_answered_when_asked(store, tmp_path):
    clear_red_flag(store, "eve", "cancer_history", set_by="Dr Rao")
    doc = session_doc(clean_sets(1))  # a [screen] without changed_since_clearance
    with pytest.raises(InputError, match="changed_since_clearance"):
        session(store, "eve", doc, tmp_path)


# -- a flag after a clearance ----------------------------------------------------------------------
def test_a_yes_since_the_clearance_counts_as_the_flag_again(store, tmp_path):
    session(store, "fay", full({"cancer_history": True}), tmp_path)
    clear_red_flag(store, "fay", "cancer_history", set_by="Dr Rao")
    session(store, "fay", full(), tmp_path)
    out, asked, _ = session(store, "fay", full({"changed_since_clearance": True}), tmp_path)
    assert screen_keys(asked) == [*EMERGENCY, "changed_since_clearance"]
    assert (out.outcome, out.urgency, out.state.red_flags, out.sets) == ("red_flags", "review",
                                                                         ("cancer_history",), 0)
    assert out.message == screen_message(["cancer_history"])
    # the clearance no longer holds; it is kept, revoked, with why
    assert store.clearances("fay") == []
    (old,) = store.clearances("fay", active_only=False)
    assert not old.active and "new or worse" in old.revoke_reason and old.revoked_by == "fay"
    # and the flag holds again until a clinician clears it anew
    out2, asked2, _ = session(store, "fay", full(), tmp_path)
    assert screen_keys(asked2) == EMERGENCY and out2.urgency == "review"
    clear_red_flag(store, "fay", "cancer_history", set_by="Dr Rao", note="seen again")
    out3, _, _ = session(store, "fay", full(), tmp_path)
    assert out3.outcome == "completed"


def test_a_change_counts_as_every_cleared_flag(store, tmp_path):
    session(store, "gus", full({"recent_trauma": True, "cancer_history": True}), tmp_path)
    clear_red_flag(store, "gus", "recent_trauma", set_by="Dr Ng")
    clear_red_flag(store, "gus", "cancer_history", set_by="Dr Ng")
    out, _, _ = session(store, "gus", full({"changed_since_clearance": True}), tmp_path)
    assert out.state.red_flags == ("recent_trauma", "cancer_history") and out.urgency == "soon"
    assert out.message.index("fall, accident") < out.message.index("had cancer")


# -- an emergency flag after any clearance ---------------------------------------------------------
@pytest.mark.parametrize("flag", EMERGENCY)
def test_emergency_flags_are_asked_at_every_session_whatever_was_cleared(store, tmp_path, flag):
    session(store, "hal", full({"recent_trauma": True, "cancer_history": True}), tmp_path)
    for f in ("recent_trauma", "fever_weight_loss", "cancer_history"):
        clear_red_flag(store, "hal", f, set_by="Dr Ng")
    out, asked, _ = session(store, "hal", full(), tmp_path)
    assert screen_keys(asked) == [*EMERGENCY, "changed_since_clearance"] and out.outcome == "completed"
    out2, asked2, _ = session(store, "hal", full({flag: True}), tmp_path)
    assert screen_keys(asked2) == [*EMERGENCY, "changed_since_clearance"]
    assert (out2.outcome, out2.urgency, out2.state.red_flags) == ("red_flags", "emergency", (flag,))
    assert "emergency department" in out2.message and out2.sets == 0
    assert len(store.clearances("hal")) == 3  # an emergency sign does not touch the clearances


def test_a_revoked_clearance_asks_the_question_as_new(store, tmp_path):
    session(store, "ivy", full({"cancer_history": True}), tmp_path)
    clear_red_flag(store, "ivy", "cancer_history", set_by="Dr Rao")
    unclear_red_flag(store, "ivy", "cancer_history", by="Dr Rao", reason="entered for the wrong person")
    with pytest.raises(NotFoundError, match="no clearance of 'cancer_history'"):
        unclear_red_flag(store, "ivy", "cancer_history", by="Dr Rao")
    out, asked, _ = session(store, "ivy", full(), tmp_path)
    assert screen_keys(asked) == EMERGENCY and out.urgency == "review"
    assert plan(load(store, "ivy"))["clearances"] == []


def test_a_clearance_revoked_after_a_passed_screen_asks_the_whole_screen_again(store, tmp_path):
    session(store, "jo", full({"cancer_history": True}), tmp_path)
    clear_red_flag(store, "jo", "cancer_history", set_by="Dr Rao")
    out, _, _ = session(store, "jo", full(), tmp_path)
    assert out.outcome == "completed" and out.state.cleared == ("cancer_history",)
    unclear_red_flag(store, "jo", "cancer_history", by="Dr Rao")
    out2, asked2, _ = session(store, "jo", full({"cancer_history": True}), tmp_path)
    assert screen_keys(asked2) == list(RED_FLAG_IDS) and out2.urgency == "review"


def test_the_report_shows_who_cleared_which_flag(store, tmp_path):
    from hingecoach.report import gather, render_html

    session(store, "kim", full({"cancer_history": True}), tmp_path)
    clear_red_flag(store, "kim", "recent_trauma", set_by="Dr Ng")
    unclear_red_flag(store, "kim", "recent_trauma", by="Dr Ng", reason="entered by mistake")
    clear_red_flag(store, "kim", "cancer_history", set_by="Dr Rao", note="in remission")
    out, _, _ = session(store, "kim", full(), tmp_path)
    html = render_html(gather(store, out.session_id))
    day = store.clearances("kim")[0].cleared_at[:10]
    assert f"Red flag cancer_history cleared by Dr Rao on {day} (in remission); holds." in html
    assert f"Red flag recent_trauma cleared by Dr Ng on {day}; revoked on {day} by Dr Ng: entered by mistake." \
        in html
    assert "a history of cancer needs a doctor&#x27;s review before an exercise programme" in html
