"""The HTML pages (Today, History, Settings), rendered from the templates in
``hingecoach/web/templates``: one base template holds the head, the header with its
navigation and the footer; each page fills in its title, scripts and content.

The pages are the same for everyone (the person's name lives in the browser); their
scripts, under ``/static``, fetch the data from ``/api``. Nothing comes from a CDN, and
the Content-Security-Policy forbids inline scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

WEB = Path(__file__).resolve().parents[1]
STATIC = WEB / "static"
TEMPLATES = WEB / "templates"


@dataclass(frozen=True)
class Page:
    """A page: its address, its template and its name in the navigation."""

    path: str
    template: str
    label: str


PAGES = (Page("/", "today.html", "Today"), Page("/history", "history.html", "History"),
         Page("/settings", "settings.html", "Settings"))

# trim_blocks/lstrip_blocks: the template tags leave no blank lines behind in the page.
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(),
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                          undefined=jinja2.StrictUndefined)
_env.globals["nav"] = PAGES
templates = Jinja2Templates(env=_env)

router = APIRouter(include_in_schema=False)


def _render(page: Page) -> Callable[[Request], HTMLResponse]:
    def render(request: Request) -> HTMLResponse:
        """The page, rendered from its template."""
        return templates.TemplateResponse(request, page.template)
    render.__name__ = f"page_{Path(page.template).stem}"
    return render


for _page in PAGES:
    router.add_api_route(_page.path, _render(_page), methods=["GET"], response_class=HTMLResponse)


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon (the pages declare an empty one); the report page still asks, so no 404 either."""
    return Response(status_code=204)
