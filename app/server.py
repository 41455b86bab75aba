"""The ``mimir serve`` application: the HTTP API and the Gradio review screen in one FastAPI app."""

from __future__ import annotations

import os

# Gradio's usage analytics are off before gradio is imported: patient data stays local.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastapi import FastAPI  # noqa: E402

from mimir import __version__  # noqa: E402
from mimir.app.api import build_router  # noqa: E402
from mimir.app.security import token_guard  # noqa: E402
from mimir.app.service import ReviewService  # noqa: E402
from mimir.settings import Settings  # noqa: E402


def create_app(settings: Settings, *, with_ui: bool = True) -> FastAPI:
    """Build the app for ``settings``; the chat UI and the API share one ReviewService."""
    service = ReviewService(settings)
    app = FastAPI(title="mimir", version=__version__, description="Case review and multi-image questions")
    app.state.service = service

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers and the timeline database is reachable."""
        service.patients(limit=1)
        return {"status": "ok", "version": __version__}

    app.include_router(build_router(service, token_guard(settings)))
    if with_ui:
        import gradio as gr

        from mimir.app.ui import build_ui

        blocks = build_ui(service)
        allowed = [str(settings.data_dir.resolve())]
        app = gr.mount_gradio_app(app, blocks, path="/", allowed_paths=allowed,
                                  auth_dependency=_ui_auth(settings), ssr_mode=False)
    return app


def _ui_auth(settings: Settings):  # noqa: ANN202
    if not settings.auth_token:
        return None
    guard = token_guard(settings)

    def dependency(request):  # noqa: ANN001, ANN202
        guard(request)
        return "reviewer"

    return dependency
