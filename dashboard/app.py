"""The dashboard's web app: three pages (sweeps, sweep, trial) that poll the JSON API in :mod:`dashboard.api`.

Served on loopback by default, where only requests addressed to 127.0.0.1/localhost are answered (a web
page cannot rebind its own host name onto this server). With a token, every request must carry it, as a
``Bearer`` header or as the cookie the ``?token=`` login link sets. Writes must be same-origin JSON either
way, which a form or script on another site cannot send without a CORS preflight this app never allows.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import plotly
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware

from dashboard import api, data
from sweeps.core.errors import UserError
from sweeps.core.layout import TRIAL_ID, TUNE_DIR
from sweeps.core.net import LOOPBACK_HOSTS

PACKAGE_DIR = Path(__file__).parent
TOKEN_COOKIE = "finesweep_dashboard_token"
PLOTLY_JS_URL = f"/vendor/plotly-{plotly.__version__}.min.js"  # versioned, so browsers may cache it for good

templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]


def create_app(*, storage_path: Path, token: str | None) -> FastAPI:
    """The dashboard for the sweeps under ``storage_path``; ``token`` None means loopback-only."""
    app = FastAPI(title="finesweep dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.storage_path = Path(storage_path)
    app.include_router(api.router)
    _add_pages(app)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    app.add_exception_handler(data.NotFound, _not_found)
    app.add_exception_handler(UserError, _user_error)
    app.middleware("http")(_same_origin_writes)
    if token:
        app.middleware("http")(_token_gate(token))
    else:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK_HOSTS))
    return app


def _add_pages(app: FastAPI) -> None:
    def page(request: Request, template: str, **context: str) -> HTMLResponse:
        return templates.TemplateResponse(request, template, {"plotly_js": PLOTLY_JS_URL, **context})

    @app.get("/", response_class=HTMLResponse)
    def sweeps_page(request: Request) -> HTMLResponse:
        return page(request, "sweeps.html", storage_path=str(request.app.state.storage_path))

    @app.get("/sweeps/{name}", response_class=HTMLResponse)
    def sweep_page(name: str, request: Request) -> HTMLResponse:
        data.find_sweep(storage_path=request.app.state.storage_path, name=name)
        return page(request, "sweep.html", name=name)

    @app.get("/sweeps/{name}/trials/{trial_id}", response_class=HTMLResponse)
    def trial_page(name: str, trial_id: str, request: Request) -> HTMLResponse:
        sweep_dir = data.find_sweep(storage_path=request.app.state.storage_path, name=name)
        if not TRIAL_ID.fullmatch(trial_id) or not (sweep_dir / TUNE_DIR / trial_id).is_dir():
            raise data.NotFound(f"no trial {trial_id!r} in sweep {name!r}")
        return page(request, "trial.html", name=name, trial_id=trial_id)

    @app.get(PLOTLY_JS_URL)
    def plotly_js() -> Response:
        return Response(_plotly_js(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    # The plotly.js bundled with the plotly package: no CDN, so the dashboard works offline and on clusters.
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _not_found(request: Request, error: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": str(error)}, status_code=404)
    return PlainTextResponse(f"404: {error}", status_code=404)


def _user_error(request: Request, error: Exception) -> Response:
    return JSONResponse({"detail": str(error)}, status_code=400)


async def _same_origin_writes(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    if request.method in ("GET", "HEAD"):
        return await call_next(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    origin = request.headers.get("origin")
    if content_type != "application/json" or (origin and urlsplit(origin).netloc != request.headers.get("host")):
        return PlainTextResponse("refused: writes must be same-origin JSON requests", status_code=403)
    return await call_next(request)


def _token_gate(token: str) -> Middleware:
    expected = token.encode()

    async def gate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        offered = request.query_params.get("token")
        if offered is not None and secrets.compare_digest(offered.encode(), expected):
            # The login link: keep the token in a cookie and take it out of the address bar and history.
            query = urlencode([(key, value) for key, value in request.query_params.multi_items() if key != "token"])
            response = RedirectResponse(request.url.path + (f"?{query}" if query else ""), status_code=303)
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
            return response
        authorization = request.headers.get("authorization", "")
        supplied = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else (
            request.cookies.get(TOKEN_COOKIE, ""))
        if not secrets.compare_digest(supplied.encode(), expected):
            return PlainTextResponse("401: this dashboard needs its token; open the link `finesweep dashboard` "
                                     "printed, with ?token=…", status_code=401)
        return await call_next(request)

    return gate
