"""The local web app (``hingecoach serve``): today's guided session with live angles,
cues and reps; history with progress charts; each session's report; a person's
settings. FastAPI and uvicorn come with the ``web`` extra and are imported only by
``hingecoach.web.app`` and ``hingecoach.web.server``.
"""
