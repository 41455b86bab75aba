"""Runs TotalSegmentator in its own process (it uses multiprocessing and sets process-wide env).

Usage: ``python -m mimir.tools.totalseg_worker REQUEST.json``; the request names the input, the
output file, the task options and where to write the reply (label names of the written mask).
The parent process sets TOTALSEG_HOME_DIR / TOTALSEG_WEIGHTS_PATH and checks weights first.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def run(request: dict) -> dict:
    """Call TotalSegmentator's Python API and return the label names of the multilabel mask."""
    from totalsegmentator.nifti_ext_header import load_multilabel_nifti
    from totalsegmentator.python_api import totalsegmentator

    totalsegmentator(
        request["input"], request["output"], task=request["task"], fast=request["fast"],
        roi_subset=request.get("roi_subset"), ml=True, device=request["device"], quiet=True,
    )
    _, label_map = load_multilabel_nifti(request["output"])
    return {"labels": {str(k): v for k, v in label_map.items()}}


def main(argv: list[str]) -> int:
    """Entry point: read the request, run, write the reply."""
    request = json.loads(Path(argv[1]).read_text())
    reply = run(request)
    Path(request["reply"]).write_text(json.dumps(reply))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
