"""``mimir serve``: the case-review app on 127.0.0.1 unless authentication is configured."""

from __future__ import annotations

import logging

import typer


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command."""

    @app.command()
    def serve(
        host: str = typer.Option(None, help="Address to listen on (default 127.0.0.1)"),
        port: int = typer.Option(None, help="Port (default 7860)"),
        no_ui: bool = typer.Option(False, "--no-ui", help="Serve the HTTP API only"),
    ) -> None:
        """Serve the chat interface and the HTTP API."""
        from mimir.extras import require_extra

        require_extra("ui", "mimir serve")
        import uvicorn

        from mimir.app.security import check_bind
        from mimir.app.server import create_app
        from mimir.settings import Settings

        settings = Settings()
        settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
        check_bind(settings)
        _access_log_to_stderr()
        # uvicorn's own access log would write each URL (patient keys, search terms): mimir's logs
        # the route template instead (mimir.app.edge.AccessLog).
        uvicorn.run(create_app(settings, with_ui=not no_ui), host=settings.host, port=settings.port,
                    log_level="info", access_log=False)


def _access_log_to_stderr() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    access = logging.getLogger("mimir.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False  # the CLI's root handler would print each line again
