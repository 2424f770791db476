"""The safety screen from the command line, as a new user meets it: a cancer-history yes,
a clinician's clearance (hingecoach person, or a [plan] in a --script), training again,
revoking the clearance; what plan shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from coach_helpers import NO_FLAGS, clean_sets, session_doc, toml


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HINGECOACH_HOME": str(home), "COLUMNS": "300"}
    env.pop("HINGECOACH_DB", None)
    return subprocess.run([sys.executable, "-m", "hingecoach.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_cancer_survivor_is_cleared_by_a_clinician_and_trains(tmp_path):
    home, script = tmp_path / "home", tmp_path / "s.toml"
    doc = session_doc(clean_sets(1))
    doc["screen"] = dict(NO_FLAGS, cancer_history=True, changed_since_clearance=False)
    script.write_text(toml(doc))
    r = run(home, "train", "--person", "zoe", "--script", str(script))
    assert r.returncode == 0, r.stderr
    out = flat(r.stdout)
    assert "Because you have had cancer" in out and "This is not urgent" in out
    assert "emergency" not in out.lower() and "saved as session 1" in out
    assert "waiting for a doctor's review before exercise (cancer_history)" in out
    # emergency signs cannot be cleared; the error says why and changes nothing
    r = run(home, "person", "zoe", "--clear-red-flag", "saddle_numbness", "--set-by", "Dr Rao")
    assert r.returncode != 0 and "emergency sign" in r.stderr and "Traceback" not in r.stderr
    r = run(home, "person", "zoe", "--clear-red-flag", "cancer_history")
    assert r.returncode != 0 and "set_by" in r.stderr
    r = run(home, "person", "zoe", "--clear-red-flag", "cancer_history", "--set-by", "Dr Rao",
            "--note", "in remission since 2019")
    assert r.returncode == 0, r.stderr
    assert "red flag cancer_history cleared by Dr Rao on " in r.stdout and "in remission since 2019" in r.stdout
    p = json.loads(run(home, "plan", "--person", "zoe", "--json").stdout)
    assert p["blocked"] is None and [c["flag"] for c in p["clearances"]] == ["cancer_history"]
    assert p["clearances"][0]["set_by"] == "Dr Rao" and p["clearances"][0]["cleared_at"]
    # the same file again: the cancer question is not asked, the change question is
    r = run(home, "train", "--person", "zoe", "--script", str(script))
    assert r.returncode == 0, r.stderr
    out = flat(r.stdout)
    assert "Have you ever had cancer? →" not in out
    assert "Since your doctor cleared you, has anything new or worse appeared?" in out
    assert "Session done: 1 set(s), 1 clean" in out
    # revoked: the question is new again and the session ends before exercise
    r = run(home, "person", "zoe", "--unclear-red-flag", "cancer_history", "--set-by", "Dr Rao",
            "--note", "wrong person")
    assert r.returncode == 0 and "cleared by" not in r.stdout
    r = run(home, "train", "--person", "zoe", "--script", str(script))
    assert r.returncode == 0 and "Because you have had cancer" in flat(r.stdout)


def test_a_plan_in_a_script_clears_a_red_flag(tmp_path):
    home, script = tmp_path / "home", tmp_path / "plan.toml"
    doc = session_doc(clean_sets(1))
    doc["screen"] = dict(NO_FLAGS, recent_trauma=True)
    script.write_text(toml(doc))
    r = run(home, "train", "--person", "kai", "--script", str(script))
    assert r.returncode == 0 and "within the next day" in flat(r.stdout)
    script.write_text(toml({"plan": {"clear_red_flags": ["recent_trauma"], "set_by": "Dr Ng",
                                     "note": "examined, no injury"}}))
    r = run(home, "train", "--person", "kai", "--script", str(script))
    assert r.returncode == 0, r.stderr
    out = flat(r.stdout)
    assert "red flag recent_trauma cleared for kai by Dr Ng" in out and "plan recorded" not in out
    assert "red flag recent_trauma cleared by Dr Ng" in out and "examined, no injury" in out
    script.write_text(toml({"plan": {"clear_red_flags": ["leg_weakness"], "set_by": "Dr Ng"}}))
    r = run(home, "train", "--person", "kai", "--script", str(script))
    assert r.returncode != 0 and "[plan]" in r.stderr and "emergency sign" in r.stderr
