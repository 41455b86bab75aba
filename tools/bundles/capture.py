"""The deepest activation of a network's pass on a batch, kept while the expert runs it.

The out-of-distribution fingerprint (:mod:`mimir.tools.ood.features`) needs the network's deepest
image-shaped activation. Rather than a second pass, the expert engine keeps it from the pass it runs
anyway: forward hooks on the network's leaf modules record their outputs, but only while the calling
thread's capture is armed, and it is armed only for the network call whose input is the batch itself.
An inferer's flipped or windowed passes run on other tensors and are not taken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


class DeepestCapture:
    """Per-thread capture of a network's deepest activation (hooks added once, on first use)."""

    def __init__(self, network: torch.nn.Module, name: str) -> None:
        self.network, self.name = network, name
        self._state = threading.local()
        self._lock = threading.Lock()
        self._hooked = False
        self._deepest: str | None = None

    def run(self, x: torch.Tensor, forward: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``forward()``'s result and the deepest activation of the network's call on ``x`` (None if it made none).

        The deepest activation is the image-shaped output of a leaf module with the fewest spatial
        positions, the first one on ties (the fingerprint extractor's rule).
        """
        from mimir.tools.ood.features import deepest

        self._hook()
        state = self._state
        state.expect, state.armed, state.captured = x, False, {}
        try:
            out = forward()
        finally:
            captured, state.expect, state.armed, state.captured = state.captured, None, False, {}
        if not captured:
            return out, None
        if self._deepest is None:
            self._deepest = deepest(captured, f"the network of {self.name}")
        return out, captured.get(self._deepest)

    def _hook(self) -> None:
        """Hooks that keep the leaf modules' outputs while the calling thread's capture is armed."""
        from mimir.tools.ood.features import is_image_shaped

        with self._lock:
            if self._hooked:
                return
            state = self._state

            def arm(_module: Any, args: tuple[Any, ...]) -> None:
                expect = getattr(state, "expect", None)
                state.armed = expect is not None and bool(args) and args[0] is expect
                if state.armed:
                    state.expect = None  # the first call on the batch itself, and no other

            def disarm(_module: Any, _args: Any, _output: Any) -> None:
                state.armed = False

            def keeper(name: str) -> Callable[[Any, Any, Any], None]:
                def keep(_module: Any, _args: Any, output: Any) -> None:
                    if getattr(state, "armed", False) and is_image_shaped(output) and name not in state.captured:
                        state.captured[name] = output
                return keep

            self.network.register_forward_pre_hook(arm)
            self.network.register_forward_hook(disarm)
            for name, module in self.network.named_modules():
                if name and not list(module.children()):
                    module.register_forward_hook(keeper(name))
            self._hooked = True
