"""The web app answers an error by its type, not its words: NotFoundError 404,
ConflictError 409, ParameterError 422, any other HingecoachError 400, each as
``{"detail": "<the error's one line>"}``; and ``hingecoach serve`` names the extra to
install when one of its modules is missing."""

from __future__ import annotations

import sys

import httpx
import pytest

from hingecoach.core.errors import (
    ConflictError,
    ExtraMissingError,
    HingecoachError,
    InputError,
    NotFoundError,
    ParameterError,
)
from hingecoach.store import StoreError, StoreNotFoundError
from hingecoach.web.app import create_app
from hingecoach.web.errors import status_for
from hingecoach.web.server import serve
from web_helpers import LiveServer


@pytest.mark.parametrize(("error", "status"), [
    (NotFoundError("no such thing"), 404),
    (StoreNotFoundError("db: no session 9"), 404),
    (ConflictError("a session is running"), 409),
    (ParameterError("stage", "1 to 4", 9), 422),
    (StoreError("the store is locked"), 400),
    (InputError("rec.csv", "a number", "'x'", line=3), 400),
    (HingecoachError("something the person can act on"), 400),
    # the words do not decide: a message that mentions "no session" is not a 404 by itself
    (StoreError("no session could be saved: disk full"), 400),
])
def test_status_follows_the_error_type(error, status):
    assert status_for(error) == status


def test_missing_things_are_404_and_a_wrong_step_is_409(tmp_path):
    app = create_app(str(tmp_path / "e.db"))
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url) as c:
        for path, words in (("/api/sessions/999", "no session 999"), ("/sessions/999/report", "no session 999"),
                            ("/api/people/ghost/history", "no person 'ghost'")):
            r = c.get(path)
            assert r.status_code == 404 and words in r.json()["detail"], (path, r.text)
        for path, body in (("/api/session/stop", {}), ("/api/session/end-set", {}),
                           ("/api/session/pain", {"value": 3}),
                           ("/api/session/answer", {"key": "pain_now", "value": 2})):
            r = c.post(path, json=body)
            assert r.status_code == 409 and r.json() == {"detail": "no session: start one first"}, (path, r.text)
        # a body that fails validation is refused before the session is looked at
        assert c.post("/api/session/pain", json={"value": 11}).status_code == 422
        r = c.post("/api/people/anna/plan", json={"stage": 3, "wall_distance_cm": 20, "set_by": "PT Lee"})
        assert r.status_code == 422 and r.json()["detail"].startswith("wall_distance_cm: expected")


def test_serve_names_the_extra_when_a_module_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)  # as if jinja2 were not installed
    with pytest.raises(ExtraMissingError, match=r"^hingecoach serve: jinja2 is not installed; "
                                                r"pip install 'hingecoach\[web\]'$"):
        serve(host="127.0.0.1", port=1)
