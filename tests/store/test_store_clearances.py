"""Clinicians' clearances of red flags in the store: kept with who and when, replaced,
revoked with why, forgotten with the person; an older database (schema 2) upgraded."""

from __future__ import annotations

import pytest

from hingecoach.core.errors import NotFoundError, ParameterError
from hingecoach.store import SCHEMA_VERSION, open_store
from hingecoach.store.backend import PostgresBackend, SQLiteBackend
from hingecoach.store.migrations import current_version, migrate
from store_helpers import BACKENDS, make_url


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    return make_url(request.param, tmp_path, request)


def test_clearances_keep_who_and_when_and_are_replaced_or_revoked(url):
    with open_store(url) as st:
        assert st.clearances("ann") == []
        a = st.add_clearance("ann", "cancer_history", set_by="Dr Rao", note="in remission")
        assert (a.person, a.flag, a.set_by, a.note, a.active) == ("ann", "cancer_history", "Dr Rao",
                                                                  "in remission", True)
        assert a.cleared_at[:4].isdigit() and st.person("ann") is not None  # the person was created
        b = st.add_clearance("ann", "cancer_history", set_by="Dr Ng")
        st.add_clearance("ann", "recent_trauma", set_by="Dr Ng")
        assert [(c.flag, c.set_by) for c in st.clearances("ann")] == [("cancer_history", "Dr Ng"),
                                                                      ("recent_trauma", "Dr Ng")]
        old = st.clearances("ann", active_only=False)[0]
        assert old.id == a.id and not old.active and old.revoke_reason == "replaced by a newer clearance"
        r = st.revoke_clearance("ann", "cancer_history", by="Dr Ng", reason="entered by mistake")
        assert (r.id, r.active, r.revoked_by, r.revoke_reason) == (b.id, False, "Dr Ng", "entered by mistake")
        assert [c.flag for c in st.clearances("ann")] == ["recent_trauma"]
        with pytest.raises(NotFoundError, match=r"no clearance of 'cancer_history'.*recent_trauma"):
            st.revoke_clearance("ann", "cancer_history", by="Dr Ng")
        with pytest.raises(ParameterError, match="set_by"):
            st.add_clearance("ann", "cancer_history", set_by="")
        with pytest.raises(ParameterError, match="note"):
            st.add_clearance("ann", "cancer_history", set_by="Dr Ng", note="x" * 501)
        assert st.clearances("nobody") == []


def test_forget_removes_the_clearances(url):
    with open_store(url) as st:
        st.add_clearance("Cleo Example", "cancer_history", set_by="Dr Rao", note="about Cleo Example")
        st.add_clearance("ben", "cancer_history", set_by="Dr Rao")
        st.forget("Cleo Example")
        assert st.clearances("Cleo Example", active_only=False) == []
        assert st.db.execute("SELECT COUNT(*) FROM red_flag_clearances").fetchone()[0] == 1
        assert [c.person for c in st.clearances("ben")] == ["ben"]


def test_a_schema_2_database_is_upgraded_and_takes_clearances(url):
    db = PostgresBackend(url) if url.startswith("postgresql") else SQLiteBackend(url, 3.0)
    assert migrate(db, None, target=2) == [1, 2]
    with db.transaction():
        db.execute("INSERT INTO people (name, thresholds, created_at) VALUES ('old ann', '{}', '2025-01-01')")
    assert "red_flag_clearances" not in db.tables()
    db.close()
    with open_store(url) as st:
        assert st.schema_version() == SCHEMA_VERSION == 4
        assert current_version(st.db) == 4 and "red_flag_clearances" in st.db.tables()
        assert st.clearances("old ann") == []
        c = st.add_clearance("old ann", "cancer_history", set_by="Dr Rao")
        assert st.clearances("old ann") == [c] and st.person("old ann").created_at == "2025-01-01"
