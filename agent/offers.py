"""What the tools here can do: every declared capability, with the tool that offers it.

The rules planner asks this index for a kind of capability (segments, classifies, measures, ...)
that fits an image's modality and dimensions, and calls the tool it names with the declaration's
fixed arguments. Declarations of tools that cannot run here are kept apart, so an abstention can
say what is missing and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mimir.agent.state import PlannedCall
from mimir.tools.framework.capabilities import Capability, CapabilityKind

if TYPE_CHECKING:
    from pydantic import BaseModel

    from mimir.settings import Settings
    from mimir.tools.framework.registry import Registry


@dataclass(frozen=True)
class Offer:
    """One capability of one tool."""

    tool: str
    capability: Capability
    output_model: type[BaseModel] | None = None

    @property
    def kind(self) -> CapabilityKind:
        """The capability's kind."""
        return self.capability.kind

    def call(self, purpose: str, **args: Any) -> PlannedCall:
        """A planned call of this capability with the planner's arguments and the declaration's own."""
        return PlannedCall(tool=self.tool, args={**args, **self.capability.arguments}, purpose=purpose, kind=self.kind)


@dataclass(frozen=True)
class Offers:
    """Capabilities of the available tools, and of the unavailable ones with the reason."""

    available: tuple[Offer, ...] = ()
    unavailable: tuple[tuple[Offer, str], ...] = field(default=())

    @classmethod
    def of(cls, registry: Registry, settings: Settings) -> Offers:
        """Every declaration of every registered tool, split by whether the tool can run here."""
        ok: list[Offer] = []
        missing: list[tuple[Offer, str]] = []
        for spec in registry:
            reason = spec.unavailable_reason(settings)
            caps = spec.declared(settings) if reason is None or not callable(spec.capabilities) else ()
            for cap in caps:
                offer = Offer(spec.name, cap, spec.output_model)
                if reason is None:
                    ok.append(offer)
                else:
                    missing.append((offer, reason))
        return cls(tuple(ok), tuple(missing))

    def find(self, kind: CapabilityKind, *, modality: str | None = None, dims: int | None = None) -> list[Offer]:
        """Available offers of ``kind`` that take an image of this modality and dimension, in declaration order."""
        return [o for o in self.available if o.kind == kind and o.capability.takes(modality, dims)]

    def why_missing(self, kind: CapabilityKind, what: str) -> str:
        """Why nothing offers ``kind`` for ``what``: no declaration, or the declaring tools cannot run here."""
        blocked = [f"{o.tool} ({reason})" for o, reason in self.unavailable if o.kind == kind]
        if blocked:
            return f"no available tool {what}; declared by {'; '.join(blocked)}"
        return f"no installed tool declares that it {what}"
