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
from concurrent.futures import BrokenExecutor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
R = TypeVar("R")
#: Pass threads on the CPU: parts of a batch that run at once (a batch over ``PART_SIZE`` images a part has more).
PARTS = 2
#: Images in the smallest part: smaller batches run as one pass.
MIN_PART = 2
#: Images in a part at most, where a batch has more than one part per thread.
PART_SIZE = 8


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


class Pass(Generic[R]):
    """One part's network pass, queued on a pass thread (or run on the caller's thread when there is none)."""

    def __init__(self, owner: SideBySide, fn: Callable[..., R], args: tuple[object, ...],
                 future: Future[R] | None) -> None:
        self._owner, self._fn, self._args, self._future = owner, fn, args, future

    def result(self) -> R:
        """The pass's result; run here, on the calling thread, when no pass thread could take it."""
        if self._future is not None:
            try:
                return self._future.result()
            except BrokenExecutor:  # a thread's share did not hold: this part, and every later one, runs here
                self._owner.turn_off()
        return self._fn(*self._args)

    def cancel(self) -> None:
        """Drop the pass if it has not started (on an error in the caller, nothing queued behind it runs)."""
        if self._future is not None:
            self._future.cancel()


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

    def split(self, n: int) -> list[range]:
        """The parts of a batch of ``n`` images, in order: as many as there are shares, at least two images each.

        One part (the whole batch) where passes do not run side by side.
        """
        k = max(1, min(max(self.parts, -(-n // PART_SIZE)) if self.active else 1, n // MIN_PART))
        size, extra = divmod(n, k)
        bounds = [i * size + min(i, extra) for i in range(k + 1)]  # the first ``extra`` parts one image larger
        return [range(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]

    def submit(self, fn: Callable[..., R], *args: object) -> Pass[R]:
        """``fn(*args)`` queued on a pass thread with its share of the threads; see :meth:`Pass.result`."""
        pool = self._threads()
        future = None
        if pool is not None:
            try:
                future = pool.submit(fn, *args)
            except BrokenExecutor:
                self.turn_off()
        return Pass(self, fn, args, future)

    def run(self, forward: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor) -> torch.Tensor:
        """``forward`` of ``batch``: the parts' logits in batch order (each part's pass on its own thread), or one pass."""
        import torch

        parts = self.split(len(batch))
        if len(parts) == 1:
            return forward(batch)
        passes = [self.submit(forward, batch[p.start : p.stop]) for p in parts]
        return torch.cat([p.result() for p in passes])

    def turn_off(self) -> None:
        """Run whole batches from now on: a pass thread could not be given its share."""
        with self._lock:
            if self._set_threads is not None:
                log.warning("network passes side by side are off: a pass thread's OpenMP share could not be set")
            self._set_threads = None

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
