"""A rep still: the frame at the bottom of one rep of a camera session, cropped to the
person, with the skeleton, the back's outline and its straight reference drawn on it,
and the rep's verdict.

Kept in ``core`` because the analysis carries its stills (``Analysis.stills``), the store
keeps them with the session and the reports show them; ``hingecoach.stills`` makes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hingecoach.core.vocabulary import fault_labels

JPEG = "image/jpeg"
#: The verdict of a rep that was judged and broke no rule, and of one that was not judged.
OK, NOT_JUDGED = "ok", "not judged"


@dataclass(frozen=True)
class RepStill:
    """One rep's still: ``seq`` is its place among the session's reps (1-based: complete
    reps first, then incomplete ones); ``rep_index`` the rep's own number (0 for an
    incomplete rep); ``t_s`` and ``frame_index`` the bottom frame's time (s) and index in
    the video; ``data`` the encoded image (``mime``, ``width`` x ``height`` pixels)."""

    seq: int
    rep_index: int
    complete: bool
    t_s: float
    frame_index: int
    judged: bool
    not_judged_because: str | None
    faults: tuple[str, ...]
    mime: str
    width: int
    height: int
    data: bytes = field(repr=False)

    @property
    def verdict(self) -> str:
        """``ok``, the faults (comma-separated) or ``not judged``; a fault found in a rep
        whose back could not be judged (too fast, say) is still named."""
        if self.faults:
            return ", ".join(self.faults)
        return OK if self.judged else NOT_JUDGED

    @property
    def verdict_text(self) -> str:
        """The verdict for people: ``ok``, the faults' short names (``core.vocabulary.
        FAULT_LABELS``) or ``not judged``."""
        return fault_labels(self.faults) if self.faults else self.verdict

    @property
    def good(self) -> bool:
        """Judged, complete, and no fault: the rep to show as the correct one."""
        return self.judged and self.complete and not self.faults

    @property
    def rounded(self) -> bool:
        """Judged and the lower back rounded: the rep to show next to a correct one."""
        return self.judged and "lumbar_rounding" in self.faults

    def title(self) -> str:
        """'rep 3' ('incomplete rep' when it did not return to standing)."""
        return f"rep {self.rep_index}" if self.complete else "incomplete rep"

    def caption(self) -> str:
        """The verdict for people: 'rep 3 at 7.4 s: ok' or 'rep 4 at 9.1 s: lower back
        rounded' (the faults' short names), with why it was not judged."""
        text = f"{self.title()} at {self.t_s:.1f} s: {self.verdict_text}"
        if not self.complete:
            text += " (did not return to standing; not counted)"
        if not self.judged and self.not_judged_because:
            text += f" (not judged: {self.not_judged_because})"
        return text

    def file_name(self) -> str:
        """'rep03_ok.jpg', 'rep04_lumbar_rounding.jpg', 'rep11_incomplete_not_judged.jpg'."""
        stem = f"rep{self.seq:02d}" + ("" if self.complete else "_incomplete")
        words = re.sub(r"[^a-z0-9]+", "_", self.verdict.lower()).strip("_")
        return f"{stem}_{words}{'.jpg' if self.mime == JPEG else '.img'}"
