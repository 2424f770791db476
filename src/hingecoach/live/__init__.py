"""Live sessions: sensors or a camera streaming in, cues out at the moment a fault
happens, everything stored as it goes.

``LiveSession(source, LiveSettings(...), on_event=...).run()`` is the whole loop; the CLI
(``hingecoach live``) and the web app are shells over it. Sources: ``udp:HOST:PORT``,
``serial:DEVICE``, ``ble:ADDRESS``, ``replay:FILE`` (a recording or a video, at
``speed`` times real time) and ``webcam:N``.
"""

from hingecoach.live.session import EVENT_TYPES, LiveSession, LiveSettings, LiveSummary
from hingecoach.live.stream import StreamSettings

__all__ = ["EVENT_TYPES", "LiveSession", "LiveSettings", "LiveSummary", "StreamSettings"]
