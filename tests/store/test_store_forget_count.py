"""``forget`` counts the reps as the report does: the complete ones, and an incomplete
one (it did not return to standing) apart."""

from __future__ import annotations

from hingecoach.faults import RepMetrics
from hingecoach.store import open_store


def _rep(index: int, complete: bool) -> RepMetrics:
    t = 4.0 * index
    return RepMetrics(index if complete else 0, t, t + 1, t + 2, complete, 12.0, 50.0, 55.0, 0.2, 0.0, 1.0)


def test_forget_counts_complete_reps_and_the_incomplete_one_apart(tmp_path):
    st = open_store(tmp_path / "x.db")
    with st.writer(person="anna", source="udp:127.0.0.1:9000") as w:
        for k in range(1, 11):
            w.add_rep(_rep(k, True))
        w.add_rep(_rep(11, False))
    with st.writer(person="ben", source="udp:127.0.0.1:9000") as w:
        w.add_rep(_rep(1, True))
    rep = st.forget("anna")
    assert (rep.reps, rep.incomplete_reps) == (11, 1)
    assert "1 session(s), 10 rep(s) (+1 incomplete), " in rep.describe()
    ben = st.forget("ben")
    assert ben.incomplete_reps == 0 and "1 session(s), 1 rep(s), 0 pain" in ben.describe()
    st.close()
