"""What a tool receives besides its arguments: settings, a timeline session and the case's images."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimir.domain import CaseImage
from mimir.tools.framework.errors import ToolArgumentError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mimir.settings import Settings
    from mimir.tools.framework.cache import ToolRunStore


@dataclass
class ToolContext:
    """Injected into every tool call; never shown to a model.

    ``images`` are the case's images in order; tools take indices into this list, never paths.
    ``session`` is an open timeline session (ToolRuns and Findings are written through it) or None
    when a tool runs outside a timeline. ``progress`` reports fractional progress for long work.
    """

    settings: Settings
    images: list[CaseImage] = field(default_factory=list)
    session: Session | None = None
    patient_id: str | None = None
    progress: Callable[[float, str], None] | None = None
    #: Finished runs when there is no session (set by the runner); see :mod:`mimir.tools.framework.cache`.
    run_store: ToolRunStore | None = None
    #: The case's VLM client (a :class:`mimir.tools.vlm.base.VLMClient`); built from settings when None.
    vlm: Any = None

    def image(self, index: int) -> CaseImage:
        """The case image at ``index``, or an argument error naming the valid range."""
        if not 0 <= index < len(self.images):
            raise ToolArgumentError(
                f"image_index {index} is out of range; this case has images 0..{len(self.images) - 1}"
            )
        return self.images[index]

    def image_path(self, index: int) -> Path:
        """Local path of the case image at ``index``."""
        return Path(self.image(index).path)

    @property
    def artifacts_dir(self) -> Path:
        """Folder for masks and overlays (created on demand)."""
        d = self.settings.artifacts_dir
        d.mkdir(parents=True, exist_ok=True)
        return d

    def report(self, fraction: float, message: str = "") -> None:
        """Report progress if a listener is attached."""
        if self.progress is not None:
            self.progress(fraction, message)
