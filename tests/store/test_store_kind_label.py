"""A session's kind in plain words (what the reports and the web History show; the
stored kind and JSON keep the id)."""

from __future__ import annotations

import pytest

from hingecoach.store.records import kind_label
from store_helpers import saved_store


@pytest.mark.parametrize(("kind", "source", "what"), [
    ("offline", "hinges-2026-10-10.csv", "recorded file"),
    ("offline", "/clips/Anna.MP4", "video file"),
    ("offline", "clip.webm", "video file"),
    ("offline", "webcam:0", "webcam recording"),
    ("live", "udp:127.0.0.1:9000", "live"),
    ("programme", "webcam:0", "programme"),
    ("reanalysis", "a.csv", "re-analysed file"),
    ("something_new", "x", "something_new"),
])
def test_kind_label(kind, source, what):
    assert kind_label(kind, source) == what


def test_summary_keeps_the_kind_and_says_what_it_is(tmp_path):
    st, ids = saved_store(str(tmp_path / "h.db"))
    with st:
        s = st.session(ids[0]).summary
        assert s.kind == "offline" and s.what == "recorded file" and "what" not in s.to_json()
