"""``hingecoach train --script FILE``: the answers of a session in a TOML file.

Top-level keys come first (TOML puts every key after a ``[table]`` header into that
table), then ``[screen]``, ``[plan]`` and the ``[[sets]]``::

    person = "anna"          # optional; --person wins
    sensor = "imu"           # imu or camera: which set-up to show when no --source is given
    referral_cleared = false # asked only while a referral is pending
    next_morning = 2         # pain the morning after the last session (asked once, may be left out)
    pain_now = 2             # 0-10
    max_flexion = false      # do the maximum-flexion calibration
    max_flexion_deg = 34.0   # its result, when no live source measures it
    pain_after = 2           # at the session's end

    [screen]                 # the red-flag screen (first use, again after a yes, and at
    saddle_numbness = false  #   every session once a clinician cleared a flag); an answer
    bladder_bowel = false    #   to a question that is not asked is ignored
    leg_weakness = false
    recent_trauma = false
    fever_weight_loss = false
    cancer_history = false
    changed_since_clearance = false  # asked instead of the flags a clinician cleared

    [plan]                   # a clinician's plan, recorded before the session (optional;
    stage = 2                #   a file with only [plan] prepares the next session and stops)
    wall_distance_cm = 18
    clear_referral = false
    clear_red_flags = ["cancer_history"]  # a clinician's clearance (soon or review flags);
    set_by = "PT Lee"                     #   stage may be left out when only clearing

    [[sets]]                 # one table per set, in order; the session asks for another
    reps = 5                 #   set while tables remain. reps: a count of reps without
    pain = 2                 #   fault, or one entry per rep: "ok" or fault ids joined by
    [[sets]]                 #   "+" ("lumbar_rounding+too_fast"); leave reps out to take
    reps = ["ok", "lumbar_rounding", "ok", "ok", "ok"]  # them from --source
    pain = 3
    pain_during = 7          # optional: pain reported during the set (it ends the set)

A question the file does not answer is an error naming the file and the key; so is
a key the programme does not know (a typo must not pass silently).
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hingecoach.coach.safety import CHANGED_SINCE_CLEARANCE, RED_FLAG_IDS, check_pain
from hingecoach.coach.screen import clear_red_flag
from hingecoach.coach.session import Calibration, Prompt, SetRun, record_plan
from hingecoach.core.errors import HingecoachError, InputError, ParameterError
from hingecoach.faults import FAULT_IDS
from hingecoach.store import Store

TOP_KEYS = ("person", "sensor", "source", "referral_cleared", "next_morning", "pain_now", "max_flexion",
            "max_flexion_deg", "pain_after", "screen", "plan", "sets")
SET_KEYS = ("reps", "pain", "pain_during", "ended_by")
PLAN_KEYS = ("stage", "wall_distance_cm", "clear_referral", "clear_red_flags", "set_by", "note")
SCREEN_KEYS = (*RED_FLAG_IDS, CHANGED_SINCE_CLEARANCE)


def _unknown(path: Path, where: str, keys: Any, known: tuple[str, ...]) -> None:
    for k in keys:
        if k not in known:
            close = difflib.get_close_matches(k, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(path, f"one of {', '.join(known)}{hint}", repr(k), column=f"{where}{k}")


@dataclass
class Script:
    """A --script file's answers to a session's prompts, checked against the keys the programme knows."""

    path: Path
    doc: dict[str, Any]
    used_sets: int = 0
    asked: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Script:
        """Read and check ``path``; an InputError names the file and the bad key."""
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise InputError(path, "a readable TOML file", e.strerror or str(e)) from None
        except UnicodeDecodeError as e:
            raise InputError(path, "a UTF-8 text file", f"byte {e.object[e.start]:#04x} at offset {e.start}") from None
        except tomllib.TOMLDecodeError as e:
            raise InputError(path, "TOML (key = value lines)", str(e)) from None
        _unknown(path, "", doc, TOP_KEYS)
        if not isinstance(doc.get("screen", {}), dict):
            raise InputError(path, "a [screen] table", type(doc["screen"]).__name__, column="screen")
        _unknown(path, "screen.", doc.get("screen", {}), SCREEN_KEYS)
        if not isinstance(doc.get("plan", {}), dict):
            raise InputError(path, "a [plan] table", type(doc["plan"]).__name__, column="plan")
        _unknown(path, "plan.", doc.get("plan", {}), PLAN_KEYS)
        sets = doc.get("sets", [])
        if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
            raise InputError(path, "[[sets]] tables", repr(sets)[:60], column="sets")
        for i, s in enumerate(sets):
            _unknown(path, f"sets[{i + 1}].", s, SET_KEYS)
        if doc.get("sensor", "imu") not in ("imu", "camera"):
            raise InputError(path, "imu or camera", repr(doc["sensor"]), column="sensor")
        return cls(path, doc)

    @property
    def sets(self) -> list[dict[str, Any]]:
        """The [[sets]] tables, in order."""
        return list(self.doc.get("sets", []))

    @property
    def has_session(self) -> bool:
        """False for a file that only prepares a plan."""
        return any(k in self.doc for k in ("pain_now", "screen", "sets", "referral_cleared"))

    def _get(self, key: str, what: str) -> Any:
        node: Any = self.doc
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise InputError(self.path, f"an answer for {key!r} ({what})", "none", column=key)
            node = node[part]
        return node

    def answer(self, p: Prompt) -> Any:
        """The file's answer to a prompt (sets: see ``set_run``)."""
        self.asked.append(p.key)
        if p.key == "another_set":
            return self.used_sets < len(self.sets)
        if p.key in ("setup", "calibration"):
            return None
        if p.key == "pain_set":
            idx = int(p.data["set"])
            return self._pain(self.sets[idx - 1].get("pain"), f"sets[{idx}].pain")
        if p.key.startswith("screen."):
            return self._bool(self._get(p.key, "yes/no: true or false"), p.key)
        if p.kind == "yes_no":
            if p.key == "calibrate_max":
                return self._bool(self.doc.get("max_flexion", False), "max_flexion")
            return self._bool(self._get(p.key, "yes/no: true or false"), p.key)
        if p.kind == "pain":
            if p.optional and p.key not in self.doc:
                return None
            return self._pain(self._get(p.key, "pain, a whole number 0 to 10"), p.key)
        return None

    def _bool(self, v: Any, key: str) -> bool:
        if not isinstance(v, bool):
            raise InputError(self.path, "true or false", repr(v), column=key)
        return v

    def _pain(self, v: Any, key: str) -> int:
        if v is None:
            raise InputError(self.path, f"an answer for {key!r} (pain, a whole number 0 to 10)", "none",
                             column=key)
        try:
            return check_pain(v, key)
        except ParameterError:
            raise InputError(self.path, "a whole number from 0 to 10", repr(v), column=key) from None

    def calibration(self) -> Calibration:
        """The maximum-flexion result (deg) from the file; empty unless ``max_flexion`` is true."""
        v = self.doc.get("max_flexion_deg")
        if v is None or not self.doc.get("max_flexion", False):
            return Calibration()
        if isinstance(v, bool) or not isinstance(v, int | float) or not 5 <= v <= 120:
            raise InputError(self.path, "degrees of maximum lumbar flexion, 5 to 120", repr(v),
                             column="max_flexion_deg")
        return Calibration(max_flexion_deg=float(v))

    def next_set(self) -> dict[str, Any]:
        """The next [[sets]] table (the session asked for a set)."""
        if self.used_sets >= len(self.sets):
            raise InputError(self.path, f"a [[sets]] table for set {self.used_sets + 1}", "none", column="sets")
        self.used_sets += 1
        return self.sets[self.used_sets - 1]

    def set_run(self, idx: int, s: dict[str, Any]) -> SetRun | None:
        """The set's outcome from the file, or None when it has no ``reps`` (take them
        from the live source)."""
        key = f"sets[{idx}]"
        during = s.get("pain_during")
        if during is not None:
            during = self._pain(during, f"{key}.pain_during")
        reps = s.get("reps")
        if reps is None:
            return None
        if isinstance(reps, bool) or not isinstance(reps, int | list):
            raise InputError(self.path, "a count of reps or a list of 'ok'/fault ids", repr(reps),
                             column=f"{key}.reps")
        faults: list[tuple[str, ...]]
        if isinstance(reps, int):
            if not 0 <= reps <= 100:
                raise InputError(self.path, "0 to 100 reps", repr(reps), column=f"{key}.reps")
            faults = [() for _ in range(reps)]
        else:
            faults = []
            for j, r in enumerate(reps):
                if not isinstance(r, str):
                    raise InputError(self.path, "'ok' or fault ids joined by '+'", repr(r),
                                     column=f"{key}.reps[{j + 1}]")
                ids = () if r.strip() == "ok" else tuple(x.strip() for x in r.split("+"))
                for f in ids:
                    if f not in FAULT_IDS:
                        close = difflib.get_close_matches(f, FAULT_IDS, n=1)
                        hint = f" (did you mean {close[0]!r}?)" if close else ""
                        raise InputError(self.path, f"'ok' or one of {', '.join(FAULT_IDS)}{hint}", repr(f),
                                         column=f"{key}.reps[{j + 1}]")
                faults.append(ids)
        ended = str(s.get("ended_by", "pain" if during is not None else "reps"))
        return SetRun(tuple(faults), ended, during, from_script=True)

    def plan(self) -> dict[str, Any] | None:
        """The [plan] table, or None when the file has none."""
        p = self.doc.get("plan")
        return dict(p) if p else None

    def apply_plan(self, store: Store, person: str) -> list[str]:
        """Record the [plan] table's clearances and stage (a stage is optional when the
        table only clears red flags); returns what was recorded, one line each. An
        error names the file and the table."""
        p = self.plan()
        if p is None:
            return []
        flags = p.get("clear_red_flags", [])
        flags = [flags] if isinstance(flags, str) else flags
        if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
            raise InputError(self.path, "a list of red flag ids", repr(flags), column="plan.clear_red_flags")
        set_by, note = str(p.get("set_by", "")), str(p.get("note", ""))
        lines = []
        try:
            for f in flags:
                c = clear_red_flag(store, person, f, set_by=set_by, note=note)
                lines.append(f"red flag {c.flag} cleared for {person} by {c.set_by}")
            if "stage" in p or not flags:
                sid = record_plan(store, person, stage=p.get("stage", 0), wall_distance_cm=p.get("wall_distance_cm"),
                                  clear_referral=bool(p.get("clear_referral", False)), set_by=set_by, note=note)
                lines.append(f"plan recorded for {person} (session {sid})")
        except ParameterError as e:
            raise HingecoachError(f"{self.path}, [plan]: {e}") from None
        return lines
