"""Keep library chatter off a user's screen: the CLI shows progress and results, not library warnings.

Without ``--verbose``, warnings raised inside third-party packages (deprecations, "this optional
decoder is not installed") are not printed, and their loggers report only errors. mimir's own
warnings, which say something a user should act on, are shown as before; ``--verbose`` shows all.
"""

from __future__ import annotations

import logging
import os
import warnings

#: Packages whose warnings are about themselves, not about the user's data or results.
LIBRARIES = ("monai", "torch", "torchvision", "pydicom", "nibabel", "nilearn", "skimage", "matplotlib", "PIL",
             "transformers", "huggingface_hub", "sentence_transformers", "langchain", "langgraph", "faiss",
             "gradio", "httpx", "urllib3", "ignite", "numpy", "scipy", "sklearn", "pkg_resources", "setuptools")


def quiet_libraries() -> None:
    """Hide third-party warnings and log records below ERROR (call once, at the CLI's start)."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # also its weight-loading progress bars
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in LIBRARIES:
        warnings.filterwarnings("ignore", module=rf"{name}(\..*)?$")
        logging.getLogger(name).setLevel(logging.ERROR)
