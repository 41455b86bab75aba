"""A batch's network pass on the CPU run as passes over its parts, side by side, each on a share of the threads.

torch spreads one pass over all of its intra-op threads. On small 2D inputs the threads meet at
every layer and wait for each other there, so the cores stay partly idle: on a 2-core machine a
batch of 16 brain slices ran at 17-30 ms per image as one pass and 12-16 ms as two passes of 8 side
by side (``benchmarks/expert_engine.py`` prints both). :class:`SideBySide` splits a batch into parts
and runs each part's pass on a thread of its own whose OpenMP team has ``threads // parts`` threads,
so together the passes use the threads torch was given and no more.

Each thread's share is set in the OpenMP runtime torch itself runs (``omp_set_num_threads`` acts on
the calling thread only) and checked with ``torch.get_num_threads()`` on that thread. Where that is
not possible (another threading backend, no OpenMP symbols in the process, a share that does not
hold), batches run as one pass, as before. Results are the network's on each part: a part's logits
can differ from those of the whole batch in the last bits of float32, as between any two batch sizes.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
#: Parts a batch is split into on the CPU.
PARTS = 2
#: Images in the smallest part: smaller batches run as one pass.
MIN_PART = 2


class ShareNotSet(RuntimeError):
    """A pass thread could not be given its share of the OpenMP threads."""


def _openmp_set_threads() -> Callable[[int], object] | None:
    """``omp_set_num_threads`` of the OpenMP runtime torch runs on, or None where torch runs another backend."""
    import torch

    if "parallel backend: OpenMP" not in torch.__config__.parallel_info():
        return None
    try:
        return getattr(ctypes.CDLL(None), "omp_set_num_threads")  # noqa: B009 - a C symbol, looked up by name
    except (AttributeError, OSError, TypeError):  # TypeError: a platform without a process-wide symbol table
        return None


class SideBySide:
    """Runs a batch's network pass as ``parts`` passes side by side, or as one where that cannot be done."""

    def __init__(self, threads: int, parts: int = PARTS) -> None:
        self.parts = parts if threads >= parts else 1
        self.share = max(1, threads // max(self.parts, 1))
        self._set_threads = _openmp_set_threads() if self.parts > 1 else None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether batches are split (False once a pass thread could not be given its share)."""
        return self._set_threads is not None

    def run(self, forward: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor) -> torch.Tensor:
        """``forward`` of ``batch``: the parts' logits in batch order, or one pass of the whole batch."""
        import torch

        n = min(self.parts, len(batch) // MIN_PART)
        pool = self._threads() if n > 1 else None
        if pool is None:
            return forward(batch)
        try:
            futures = [pool.submit(forward, part) for part in torch.tensor_split(batch, n)]
            return torch.cat([f.result() for f in futures])
        except BrokenExecutor:  # a thread's share did not hold: this engine runs whole batches from now on
            log.warning("network passes side by side are off: a pass thread's OpenMP share could not be set")
            with self._lock:
                self._set_threads = None
            return forward(batch)

    def _threads(self) -> ThreadPoolExecutor | None:
        with self._lock:
            if self._set_threads is not None and self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.parts, thread_name_prefix="mimir-pass",
                                                initializer=self._own_share)
            return self._pool if self._set_threads is not None else None

    def _own_share(self) -> None:
        """In a new pass thread: its OpenMP team of ``share`` threads (raises ShareNotSet where that does not hold)."""
        import torch

        set_threads = self._set_threads
        torch.get_num_threads()  # torch sets each thread's OpenMP team size on its first use there: before ours
        if set_threads is not None:
            set_threads(self.share)
        if set_threads is None or torch.get_num_threads() != self.share:
            raise ShareNotSet(f"torch on this thread has {torch.get_num_threads()} threads, not {self.share}")
