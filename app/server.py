"""The ``mimir serve`` application: the HTTP API and the Gradio review screen in one FastAPI app.

Outermost first, every request passes the access log, the Host and same-origin rules
(:mod:`mimir.app.edge`), then a body-size limit (1 MiB, the upload limit on ``/api/ingest`` and
inside the review screen), then the token. The review screen serves files only from
``<data>/public``: its rendered pictures and exports, never the database, storage or staging.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from mimir import __version__
from mimir.app.api import build_router
from mimir.app.edge import AccessLog, EdgeGuard
from mimir.app.refusals import install_handlers
from mimir.app.review import ReviewService
from mimir.app.security import private_files, token_guard
from mimir.settings import Settings

#: Request bodies on every route but uploads (questions are a few kB).
JSON_LIMIT = 2**20
HERE = Path(__file__).resolve().parent
#: The review screen's static files; the viewer library is installed by ``make viewer`` (npm ci).
STATIC = {"review.js": HERE / "static" / "review.js", "review.css": HERE / "static" / "review.css",
          "vendor/niivue.js": HERE / "web" / "node_modules" / "@niivue" / "niivue" / "build" / "index.min.js"}
#: Gradio deletes its cached copies of rendered pictures and uploads after this long (s).
CACHE_TTL_S = 3600


def create_app(settings: Settings, *, with_ui: bool = True) -> FastAPI:
    """Build the app for ``settings``; the chat UI and the API share one ReviewService."""
    private_files()
    service = ReviewService(settings)
    settings = service.settings
    guard = token_guard(settings)
    app = FastAPI(title="mimir", version=__version__, description="Case review and multi-image questions",
                  docs_url=None, redoc_url=None, openapi_url=None, max_body_size=JSON_LIMIT)
    app.state.service = service
    install_handlers(app)
    _docs(app, guard)

    warm = threading.Event()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers and the timeline database is reachable; ``warm``: start-up work done."""
        service.patients(limit=1)
        return {"status": "ok", "version": __version__, "warm": "yes" if warm.is_set() or not with_ui else "no"}

    app.include_router(build_router(service, guard, upload_limit=settings.upload_max_mb * 2**20))
    if with_ui:
        _static(app, guard)
        threading.Thread(target=_warm_up, args=(service, warm), name="mimir-warm-up", daemon=True).start()
        app = _mount_ui(app, service)
    app.add_middleware(EdgeGuard, settings=settings)
    app.add_middleware(AccessLog)  # outermost: refusals are logged too
    return app


def _docs(app: FastAPI, guard) -> None:  # FastAPI dependency
    """The OpenAPI schema and its page, behind the token like every other route."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(guard)])
    def openapi() -> dict:
        return app.openapi()

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(guard)])
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="mimir API")


def _static(app: FastAPI, guard) -> None:  # FastAPI dependency
    """The review screen's script, style sheet and the viewer library: fixed files, no paths from requests."""

    def serve(name: str, media: str) -> None:
        @app.get(f"/static/{name}", include_in_schema=False, dependencies=[Depends(guard)])
        def asset() -> FileResponse:
            path = STATIC[name]
            if not path.is_file():
                raise HTTPException(404, "The image viewer is not installed: run `make viewer` (npm ci in app/web).")
            return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    for name in STATIC:
        serve(name, "text/css" if name.endswith(".css") else "text/javascript")


def _warm_up(service: ReviewService, done: threading.Event) -> None:
    """Prepare in the background what the first reviewer would otherwise wait for.

    That is the timeline's queries and the image readers (MONAI's import).
    """
    for p in service.patients(limit=1):
        service.timeline(p.patient_key)
    from mimir.tools.analysis.imaging import load_array  # noqa: F401 - imports MONAI's readers

    done.set()


def _mount_ui(app: FastAPI, service: ReviewService) -> FastAPI:
    # Gradio's usage analytics and the Hugging Face hub stay off from gradio's import on (patient data
    # stays local); set here, when the review screen is built, not when this module is imported.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gradio as gr

    from mimir.app.ui import HEAD, build_ui

    settings = service.settings
    cache = service.public_dir / "gradio"
    cache.mkdir(mode=0o700, exist_ok=True)
    # Gradio reads its cache folder (uploads and copies of what handlers return) from the environment
    # when components and the app are built; this process serves one data directory.
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    blocks = build_ui(service, cache_ttl_s=CACHE_TTL_S)
    blocked = [settings.data_dir / n for n in ("mimir.db", "threads.sqlite")]
    blocked += [settings.storage_dir, service.staging_dir, settings.artifacts_dir, settings.index_dir]
    return gr.mount_gradio_app(
        app, blocks, path="/", allowed_paths=[str(service.public_dir)], blocked_paths=[str(p) for p in blocked],
        auth_dependency=_ui_auth(settings), ssr_mode=False, max_file_size=settings.upload_max_mb * 2**20,
        head=HEAD, footer_links=[],
        app_kwargs={"max_body_size": settings.upload_max_mb * 2**20},
    )


def _ui_auth(settings: Settings):
    if not settings.auth_token:
        return None
    guard = token_guard(settings)

    def dependency(request):
        guard(request)
        return "reviewer"

    return dependency
