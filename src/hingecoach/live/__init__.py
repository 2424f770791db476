"""Live sessions: sensors or a camera streaming in, cues out at the moment a fault
happens, everything stored as it goes.

``LiveSession(source, LiveSettings(...), on_event=...).run()`` is the whole loop; the CLI
(``hingecoach live``) and the web app are shells over it. Sources: ``udp:HOST:PORT``,
``serial:DEVICE``, ``ble:ADDRESS``, ``replay:FILE`` (a recording or a video, at
``speed`` times real time) and ``webcam:N``.

Modules, in the order data flows: ``stream`` (packets from two sensors -> rows), ``imu``
(rows -> angles) or ``camera`` (frames -> angles), ``coach`` (angles -> reps, faults,
cues), ``sink`` (the store, on its own thread); ``session`` holds them together, with
``run_imu`` and ``run_camera`` as its two runners.
"""

from hingecoach.live.session import EVENT_TYPES, LiveSession, LiveSettings, LiveSummary
from hingecoach.live.stream import StreamSettings

__all__ = ["EVENT_TYPES", "LiveSession", "LiveSettings", "LiveSummary", "StreamSettings"]
