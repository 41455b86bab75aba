"""One settings object for mimir, built at the edge (CLI, app factory, test fixture) and passed down.

Every default is the embedded one: a SQLite file under the data directory, local folders, no network.
Values come from keyword arguments, then ``MIMIR_*`` environment variables, then an optional TOML
config file named by ``MIMIR_CONFIG``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parent
#: Shortest bearer token accepted.
MIN_TOKEN_LENGTH = 16
#: mimir's own MONAI bundles (``mimir.tools.experts``) in a source tree or editable install.
BUILTIN_EXPERTS_DIR = PACKAGE_ROOT.parent / "tools" / "experts"


def _builtin_experts_dir() -> Path:
    """Find the shipped bundle folder in both editable and wheel installs, without importing the tools."""
    installed = PACKAGE_ROOT / "tools" / "experts"  # a wheel puts the tools inside the mimir package
    return installed if installed.is_dir() else BUILTIN_EXPERTS_DIR


class VLMEndpoint(BaseModel):
    """An OpenAI-compatible server (vLLM, ``mimir serve-vlm``) hosting one model profile."""

    profile: str = Field(description="Model profile name, e.g. 'med-mantis' (see prompts/models.yaml)")
    base_url: str = Field(description="e.g. http://127.0.0.1:8000/v1")
    model: str | None = Field(default=None, description="Served model name; defaults to the profile's")
    api_key: str = "EMPTY"
    max_concurrency: int = 8
    timeout_s: float = 120.0
    local_media_path: Path | None = Field(
        default=None, description="Folder the server reads as --allowed-local-media-path (send file:// URLs)"
    )


class PacsSettings(BaseModel):
    """A DICOMweb server (Orthanc, any QIDO-RS/WADO-RS/STOW-RS service): where studies come from and results go.

    Credentials live here (``MIMIR_PACS__TOKEN`` or ``MIMIR_PACS__USERNAME``/``MIMIR_PACS__PASSWORD``),
    never in the URL, so they reach neither the timeline nor the logs.
    """

    url: str | None = Field(default=None, description="DICOMweb base URL, e.g. http://127.0.0.1:8042/dicom-web")
    token: SecretStr | None = Field(default=None, description="Bearer token (Authorization: Bearer ...)")
    username: str | None = Field(default=None, description="HTTP basic auth user (with password)")
    password: SecretStr | None = None
    verify_tls: bool = Field(default=True, description="Check the server's TLS certificate (https)")
    ca_bundle: Path | None = Field(default=None, description="CA certificates to trust for the server")
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds to wait for each HTTP answer")


class Settings(BaseSettings):
    """mimir's configuration. Build it once at the edge and pass it down."""

    model_config = SettingsConfigDict(env_prefix="MIMIR_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(default=Path(".mimir"), description="Root for the database, artifacts, indexes")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    experts_dir: Path | None = Field(default=None, description="mimir's MONAI bundles; default: shipped")
    bundles_dirs: list[Path] = Field(default_factory=list, description="Extra trusted MONAI bundle folders")
    totalseg_home: Path | None = Field(default=None, description="TOTALSEG_HOME_DIR for weights")
    device: Literal["cpu", "cuda", "auto"] = "auto"
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "auto"

    planner: Literal["rules", "llm"] = "rules"
    planner_base_url: str | None = None
    planner_model: str | None = None
    planner_api_key: str = "EMPTY"
    planner_max_steps: int = 12
    planner_max_tool_calls: int = 24
    planner_timeout_s: float = 300.0

    vlm: list[VLMEndpoint] = Field(default_factory=list, description="Configured VLM endpoints")
    vlm_local_model: Path | None = Field(default=None, description="Local HF VLM for the transformers backend")
    vlm_local_profile: str | None = None

    host: str = "127.0.0.1"
    port: int = 7860
    auth_token: str | None = Field(default=None, description="Bearer token; required off loopback")
    pacs: PacsSettings = Field(default_factory=PacsSettings, description="DICOMweb server for ingest and STOW")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Host names clients use besides loopback (DNS-rebinding guard)"
    )
    upload_max_mb: int = Field(default=512, ge=1, description="Per request, and per upload once decompressed")
    image_max_pixels: int = Field(default=2**26, ge=1, description="Largest 2D image accepted (rows x columns)")
    volume_max_voxels: int = Field(default=2**28, ge=1, description="Largest NIfTI/DICOM volume accepted")
    retrieval_image_embedder: str = Field(
        default="experts",
        description="Image vectors in the retrieval index: 'experts', 'thumbnail', 'none' or a local model path",
    )

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()

    @field_validator("auth_token", mode="after")
    @classmethod
    def _long_enough(cls, v: str | None) -> str | None:
        if v is not None and len(v) < MIN_TOKEN_LENGTH:
            raise ValueError(f"MIMIR_AUTH_TOKEN must be at least {MIN_TOKEN_LENGTH} characters "
                             "(e.g. openssl rand -hex 24)")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments first, then MIMIR_* variables, then the MIMIR_CONFIG file."""
        return (init_settings, env_settings, _TomlSource(settings_cls))

    # Derived locations: computed, never stored, so they follow data_dir.
    @property
    def db_url(self) -> str:
        """The timeline database URL (SQLite file under data_dir unless configured)."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'mimir.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        """Masks, overlays and other tool outputs."""
        return self.data_dir / "artifacts"

    @property
    def storage_dir(self) -> Path:
        """Where ingested uploads are copied (never outside data_dir)."""
        return self.data_dir / "storage"

    @property
    def index_dir(self) -> Path:
        """FAISS index files, beside the database."""
        return self.data_dir / "index"

    @property
    def checkpoint_url(self) -> str:
        """LangGraph checkpointer: PostgreSQL when the timeline is, else a SQLite file."""
        if self.db_url.startswith("postgresql"):
            return self.db_url
        return str((self.data_dir / "threads.sqlite").resolve())

    @property
    def expert_dirs(self) -> list[Path]:
        """Trusted bundle folders, mimir's own first."""
        return [self.experts_dir or _builtin_experts_dir(), *self.bundles_dirs]

    def ensure_dirs(self) -> Settings:
        """Create the local folders this configuration writes to."""
        for d in (self.data_dir, self.artifacts_dir, self.storage_dir, self.index_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.chmod(0o700)  # patient data: the owner only
        return self


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the optional config file named by MIMIR_CONFIG (TOML)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("MIMIR_CONFIG")
        if not path:
            return {}
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"MIMIR_CONFIG points to {p}, which is not a file")
        with p.open("rb") as f:
            return tomllib.load(f)
