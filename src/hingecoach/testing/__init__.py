"""Test doubles: the fakes and simulators that the tests and benchmarks drive the product with.

Nothing in the product imports this package (an import-linter contract in pyproject.toml
forbids it); tests and benchmarks inject these doubles through parameters (a transport,
a pose model, a live-session factory). It may import anything from the product.

- ``link_sim``: a simulated lossy UDP link for the live IMU path (two sensors with their
  own clocks; delay, loss, reordering, duplicates, a silent sensor) and the
  ``ScheduledTransport`` that delivers it on a ``VirtualClock``.
- ``camera_sim``: a side-view camera simulator (the silhouette and BlazePose-like
  landmarks of a person doing hinges, with the true angles known) and ``FramesModel``,
  a fake pose model that replays pre-rendered frames.
- ``replay``: ``replay_into_store``, a recording analysed offline and appended to the
  store at the pace it happened (the driver of the crash-safety test).
- ``scripted``: a stand-in for ``LiveSession`` that replays a script of timed events
  (from a recording analysed offline) and stores the session as a live one does; the
  guided coach, the web app and their benchmark run on it.

The IMU simulator (``hingecoach.sources.simulator``) is not here: ``hingecoach simulate``
and the demo data use it, so it is part of the product.
"""
