"""The local web app (``hingecoach serve``): today's guided session with live angles,
cues and reps; history with progress charts; each session's report; a person's
settings. FastAPI, uvicorn and Jinja2 come with the ``web`` extra.

Where things are:

- ``app.create_app`` assembles the app; ``server.serve`` runs it with uvicorn.
- ``routes/`` one APIRouter per area: ``pages`` (the HTML pages, from ``templates/``),
  ``people`` (people, history, the programme), ``settings`` (thresholds, plan),
  ``sessions`` (recorded sessions and their reports), ``today`` (today's session),
  ``live_ws`` (the WebSocket feed).
- ``models`` the request bodies and their validation; ``state`` what the app holds and
  the dependencies that hand it to the routes; ``errors`` HTTP status by error type.
- ``controller`` today's session (the programme's dialogue plus the live link);
  ``hub`` the fan-out of live events to WebSocket clients; ``security`` who may talk
  to the app.
- ``static/`` the CSS and JavaScript (nothing from a CDN).
"""
