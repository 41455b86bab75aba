"""CLI: ``mimir serve-vlm`` and ``mimir vlm check``."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import typer

vlm_app = typer.Typer(help="Vision-language model servers: check them.", no_args_is_help=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@vlm_app.command("check")
def check(
    url: str = typer.Option(..., "--url", help="Server base URL, e.g. http://127.0.0.1:8000/v1"),
    model: str = typer.Option(..., "--model", help="Served model name"),
    api_key: str = typer.Option("EMPTY", "--api-key", envvar="MIMIR_VLM_API_KEY"),
    max_images: int = typer.Option(4, "--max-images", help="Probe the image limit up to this count"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List models, send a two-image request, probe the per-prompt image limit, time it."""
    from mimir.output import emit
    from mimir.tools.vlm.server_check import human, run_check

    report = run_check(url, model, api_key, max_images)
    emit(report, as_json=as_json, human=human(report))
    if not report.answered:
        raise typer.Exit(1)


def serve_vlm(
    model_path: Path = typer.Option(..., "--model-path", help="Local model folder (no downloads)"),
    profile: str | None = typer.Option(None, "--profile", help="Profile in prompts/models.yaml"),
    served_name: str | None = typer.Option(None, "--served-model-name", help="Default: the profile's"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    api_key: str | None = typer.Option(None, "--api-key", envvar="MIMIR_SERVE_VLM_API_KEY"),
    media: Path | None = typer.Option(None, "--allowed-local-media-path", help="Folder file:// URLs may read"),
    device: str = typer.Option("auto", "--device"),
    dtype: str = typer.Option("auto", "--dtype"),
) -> None:
    """Serve a local VLM (transformers, or MedM-VL via its own code) as an OpenAI-compatible API."""
    from mimir.extras import require_extra

    require_extra("serve-vlm", "mimir serve-vlm")
    import uvicorn

    from mimir.output import fail
    from mimir.tools.vlm.factory import profile_for
    from mimir.tools.vlm.server_check import default_media_root
    from mimir.tools.vlm.vlm_server import create_app, load_backend

    if not _is_loopback(host) and not api_key:
        fail(f"refusing to serve on {host} without --api-key (or MIMIR_SERVE_VLM_API_KEY): only loopback is open")
    prof = profile_for(profile or model_path.name)
    if served_name:
        prof = prof.model_copy(update={"served_name": served_name})
    try:
        backend = load_backend(model_path, prof, device, dtype)
    except (ModuleNotFoundError, FileNotFoundError) as e:
        fail(str(e))
    app = create_app(backend, prof, api_key=api_key, media_root=default_media_root(media))
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("MIMIR_LOG_LEVEL", "info").lower())


def register(app: typer.Typer) -> None:
    """Add ``serve-vlm`` and the ``vlm`` group to mimir's CLI."""
    app.command("serve-vlm")(serve_vlm)
    app.add_typer(vlm_app, name="vlm")
