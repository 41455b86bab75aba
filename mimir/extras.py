"""Optional features and the pip extras that install them.

``pip install mimir`` gives question answering, the timeline, the experts, the retriever and batch
evaluation. Each optional feature below comes with an extra; a feature whose extra is missing fails
with :class:`MissingExtra`, whose message names the extra and the command that installs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType


class MissingExtra(ModuleNotFoundError):
    """An optional feature was used without its extra; the message says what to install."""

    def __init__(self, extra: str, feature: str, module: str) -> None:
        self.extra = extra
        super().__init__(
            f"{feature} needs the '{extra}' extra (module {module!r} is not installed): "
            f"pip install 'mimir[{extra}]'",
            name=module,
        )


#: The import names each extra provides (the requirements themselves are in pyproject.toml).
EXTRAS: dict[str, tuple[str, ...]] = {
    "ui": ("gradio", "fastapi", "starlette", "uvicorn", "python_multipart"),
    "serve-vlm": ("fastapi", "uvicorn"),
    "ray": ("ray",),
    "postgres": ("psycopg", "langgraph.checkpoint.postgres"),
    "totalseg": ("totalsegmentator",),
    "judge": ("sacrebleu", "rouge_score"),
}

#: Modules of mimir that import an extra's packages at their top; they load only with that extra.
MODULE_EXTRAS: dict[str, str] = {
    "mimir.app": "ui",  # the review server, except mimir.app.cli (which checks before it imports)
    "mimir.tools.vlm.vlm_server": "serve-vlm",
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package of a dotted name is missing
        return False


def missing_module(extra: str) -> str | None:
    """The first module of ``extra`` that is not installed, or None when the extra is complete."""
    return next((m for m in EXTRAS[extra] if not _installed(m)), None)


def require_extra(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` is installed."""
    module = missing_module(extra)
    if module is not None:
        raise MissingExtra(extra, feature, module)


def import_extra(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` (a package of ``extra``); :class:`MissingExtra` when it is not installed."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and (module == e.name or module.startswith(e.name + ".")):
            raise MissingExtra(extra, feature, module) from e
        raise


def extra_of(module: str) -> str | None:
    """The extra that provides the third-party ``module`` (an import name), if any."""
    return next((name for name, mods in EXTRAS.items() if module in mods), None)


def install_hint(module: str) -> str:
    """How to install the third-party ``module``: its extra when it has one, else pip itself."""
    extra = extra_of(module)
    return f"pip install 'mimir[{extra}]'" if extra else f"pip install {module}"
