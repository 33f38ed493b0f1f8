"""The Starlette application of ``fairmicro serve``: pages, pictures, the guard and error pages."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from fairmicro.errors import FairmicroError, first_line
from fairmicro.web.access import CatalogAccess
from fairmicro.web.safety import TOKEN_COOKIE, Guard, GuardMiddleware, is_loopback

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=str(HERE / "templates"))
NAV = (
    ("/", "Browse"),
    ("/query", "Query"),
    ("/review", "Review"),
    ("/datasets", "Datasets"),
    ("/runs", "Runs"),
    ("/qualify", "Qualify"),
)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """A page from ``templates/`` with the navigation, catalog name and CSRF value every page needs."""
    state = request.app.state
    base = {"nav": NAV, "catalog_name": state.access.path.name, "csrf": state.guard.csrf, "path": request.url.path}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def error_page(request: Request, status: int, message: str) -> Response:
    """The error page: one line naming the problem."""
    return render(request, "error.html", {"status": status, "message": message}, status)


def _routes() -> list[BaseRoute]:
    from fairmicro.web import browse, catalog_pages, qualify_page, query_page, review

    routes: list[BaseRoute] = []
    for module in (browse, query_page, review, catalog_pages, qualify_page):
        routes.extend(module.ROUTES)
    routes.append(Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"))
    return routes


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", "") or "error"
    return error_page(request, status, str(detail))


async def _fairmicro_error(request: Request, exc: Exception) -> Response:
    return error_page(request, 400, first_line(exc))


async def _token_login(request: Request, call_next: Any) -> Response:
    """``/?token=T``: remember a correct token in a strict, HTTP-only cookie and drop it from the address."""
    given = request.query_params.get("token")
    if given is None:
        return await call_next(request)
    guard: Guard = request.app.state.guard
    if guard.token is None or not guard.token_ok({"authorization": f"Bearer {given}"}, {}):
        return PlainTextResponse("refused: wrong token\n", status_code=403)
    response = RedirectResponse(request.url.remove_query_params("token"), status_code=303)
    response.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict")
    return response


def create_app(
    catalog: str | Path,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    clip: str = "openai/clip-vit-base-patch32",
    flava: str = "facebook/flava-full",
    assessments: dict[str, str] | None = None,
) -> Starlette:
    """The web application over one catalog file.

    Parameters
    ----------
    catalog
        The catalog file (it must exist; it is opened read-only per request, read-write only for a write).
    token
        The token every write must carry; required when ``host`` is not a loopback address.
    host
        The address the server binds to; a loopback one also restricts the Host header to loopback names.
    clip, flava
        The qualification page's models (Hub ids or local folders); a request never names a model.
    assessments
        Further assessment sets the qualification page offers: name -> YAML file (the built-ins always).

    Returns
    -------
    Starlette
        An ASGI application (serve it with uvicorn).
    """
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware

    from fairmicro.web.safety import check_binding

    check_binding(host, token)
    guard = Guard(token=token, loopback=is_loopback(host))
    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(GuardMiddleware, guard=guard), Middleware(BaseHTTPMiddleware, dispatch=_token_login)],
        exception_handlers={HTTPException: _http_error, FairmicroError: _fairmicro_error},
    )
    app.state.access = CatalogAccess(Path(catalog).absolute())
    app.state.guard = guard
    app.state.models = {"clip": clip, "flava": flava}
    app.state.assessments = dict(assessments or {})
    return app
