"""The WebSocket ``/ws/session``: the Today page's live feed.

A client first gets the session's state, then every event of the hub (angle batches 25
times a second, cues, reps, status, session changes) until it leaves. Whatever the
client does (leaves without closing, sends garbage), the session goes on without it.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from hingecoach.core.numbers import finite_or_none
from hingecoach.web.hub import Client
from hingecoach.web.state import State

router = APIRouter()


@router.websocket("/ws/session")
async def ws_session(websocket: WebSocket) -> None:
    """Live angles (25 batches a second), cues, reps, status and session changes."""
    hc: State = websocket.app.state.hc
    await websocket.accept()
    client = Client(asyncio.get_running_loop())
    hc.hub.add(client)
    receiver: asyncio.Task[None] | None = None
    try:
        await websocket.send_text(json.dumps({"type": "session", **hc.session_state()}))
        # The client sends nothing we use, but reading is how its leaving is noticed.
        receiver = asyncio.create_task(_receive_until_closed(websocket))
        while not receiver.done():
            getter = asyncio.create_task(client.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_text(json.dumps(finite_or_none(getter.result()), default=str))
            else:
                getter.cancel()
    except (WebSocketDisconnect, RuntimeError, ValueError, OSError):
        pass  # the client left (or sent garbage): the session goes on without it
    finally:
        hc.hub.remove(client)
        if receiver is not None:
            receiver.cancel()



async def _receive_until_closed(websocket: WebSocket) -> None:
    while True:
        msg = await websocket.receive()
        if msg["type"] == "websocket.disconnect":
            return
