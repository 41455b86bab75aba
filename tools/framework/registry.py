"""Tool registration without magic: a decorator on an explicit, named registry object.

A tool is a typed function ``(args: InputModel, ctx: ToolContext) -> ResultModel`` with a docstring.
Name, description and JSON schema come from the function, its docstring and the input model.
Registration refuses what would fail later: missing hints, missing docstring, duplicate names.
"""

from __future__ import annotations

import importlib.util
import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from mimir.extras import install_hint
from mimir.tools.framework.capabilities import Capability, Declarations, check_declaration
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import RegistrationError

if TYPE_CHECKING:
    from mimir.settings import Settings

Dims = Literal[2, 3]
ToolFunc = Callable[[Any, ToolContext], BaseModel]
#: Returns None when the tool can run here, else a reason that says how to fix it.
AvailabilityCheck = Callable[["Settings"], str | None]
#: What a tool's results depend on beyond its code and arguments (the installed models' files, say), as one
#: string: part of the result-cache key, so that new weights or configs are never answered from old runs.
ModelState = Callable[["Settings"], str]


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool and the metadata the planner uses to pick it."""

    name: str
    description: str
    func: ToolFunc
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    version: str = "1"
    modalities: tuple[str, ...] = ()
    dims: tuple[int, ...] = ()
    gpu: bool = False
    requires: tuple[str, ...] = ()
    availability: AvailabilityCheck | None = None
    cacheable: bool = True
    tags: tuple[str, ...] = ()
    #: What the tool can do (fixed, or computed from the installation); the planner routes by these.
    capabilities: Declarations = ()
    model_state: ModelState | None = None

    def declared(self, settings: Settings) -> tuple[Capability, ...]:
        """The tool's capabilities here (declarations computed from settings are checked as they are read)."""
        if not callable(self.capabilities):
            return self.capabilities
        found = self.capabilities(settings)
        for cap in found:
            check_declaration(self.name, cap, self.output_model, self.input_model)
        return found

    def json_schema(self) -> dict[str, Any]:
        """The input model's JSON schema, as a model sees it."""
        return self.input_model.model_json_schema()

    def unavailable_reason(self, settings: Settings) -> str | None:
        """None when the tool can run here; else why not and how to fix it."""
        for module in self.requires:
            if importlib.util.find_spec(module) is None:
                return f"optional dependency '{module}' is not installed: {install_hint(module)}"
        if self.gpu:
            import torch

            if not torch.cuda.is_available():
                return "needs a CUDA GPU, and none is visible"
        return self.availability(settings) if self.availability else None

    def describe(self, settings: Settings) -> dict[str, Any]:
        """A JSON-ready summary for ``mimir tools list --json``."""
        reason = self.unavailable_reason(settings)
        return {
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "modalities": list(self.modalities),
            "dims": list(self.dims),
            "gpu": self.gpu,
            "requires": list(self.requires),
            "tags": list(self.tags),
            "capabilities": [c.model_dump(mode="json", exclude_defaults=True) for c in self.declared(settings)],
            "available": reason is None,
            "unavailable_reason": reason,
            "input_schema": self.json_schema(),
            "output_schema": self.output_model.model_json_schema(),
        }


@dataclass
class Registry:
    """A named set of tools. Build one with :func:`mimir.tools.build_registry`."""

    name: str
    _tools: dict[str, ToolSpec] = field(default_factory=dict)

    def tool(
        self,
        func: ToolFunc | None = None,
        *,
        name: str | None = None,
        version: str = "1",
        modalities: tuple[str, ...] = (),
        dims: tuple[int, ...] = (),
        gpu: bool = False,
        requires: tuple[str, ...] = (),
        availability: AvailabilityCheck | None = None,
        cacheable: bool = True,
        tags: tuple[str, ...] = (),
        capabilities: Declarations = (),
        model_state: ModelState | None = None,
    ) -> Any:
        """Register a tool; usable bare (``@registry.tool``) or with metadata.

        ``capabilities`` say what the tool can do (:mod:`mimir.tools.framework.capabilities`): a tuple, or a
        function of the settings for declarations that depend on what is installed. ``model_state``
        names what else the results depend on (see :data:`ModelState`); it joins the cache key.
        """

        def register(f: ToolFunc) -> ToolFunc:
            input_model, output_model = _check_signature(f)
            doc = inspect.getdoc(f)
            if not doc:
                raise RegistrationError(f"tool '{f.__name__}' has no docstring; a model cannot use it")
            spec = ToolSpec(
                name=name or f.__name__, description=doc, func=f, input_model=input_model,
                output_model=output_model, version=version, modalities=modalities, dims=dims, gpu=gpu,
                requires=requires, availability=availability, cacheable=cacheable, tags=tags,
                capabilities=capabilities, model_state=model_state,
            )
            self.add(spec)
            return f

        return register(func) if func is not None else register

    def add(self, spec: ToolSpec) -> None:
        """Add a spec, refusing duplicate names and declarations its result model cannot keep."""
        if not callable(spec.capabilities):
            for cap in spec.capabilities:
                check_declaration(spec.name, cap, spec.output_model, spec.input_model)
        if spec.name in self._tools:
            raise RegistrationError(f"a tool named '{spec.name}' is already registered in '{self.name}'")
        self._tools[spec.name] = spec

    def merge(self, other: Registry) -> None:
        """Add every tool of another registry (a plug-in's) to this one."""
        for spec in other:
            self.add(spec)

    def get(self, name: str) -> ToolSpec:
        """The tool called ``name``, or a KeyError listing the known names."""
        try:
            return self._tools[name]
        except KeyError:
            known = ", ".join(sorted(self._tools)) or "none"
            raise KeyError(f"Unknown tool '{name}'; registered tools: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        """Registered tool names in registration order."""
        return list(self._tools)


def _check_signature(f: Callable[..., Any]) -> tuple[type[BaseModel], type[BaseModel]]:
    """Return (input model, output model) or refuse the function."""
    try:
        # ToolContext is supplied so modules may import it under TYPE_CHECKING only.
        hints = typing.get_type_hints(f, localns={"ToolContext": ToolContext})
    except NameError as e:
        raise RegistrationError(f"tool '{f.__name__}': cannot resolve type hints ({e})") from e
    params = list(inspect.signature(f).parameters)
    if not params or params[0] not in hints:
        raise RegistrationError(f"tool '{f.__name__}' needs a typed first parameter (a pydantic model)")
    if "return" not in hints:
        raise RegistrationError(f"tool '{f.__name__}' needs a return type hint (a pydantic model)")
    input_model, output_model = hints[params[0]], hints["return"]
    for what, model in (("input", input_model), ("return", output_model)):
        if not (inspect.isclass(model) and issubclass(model, BaseModel)):
            raise RegistrationError(f"tool '{f.__name__}': {what} type must be a pydantic model, not {model!r}")
    if len(params) > 2:
        raise RegistrationError(f"tool '{f.__name__}' takes (args, ctx); got parameters {params}")
    return input_model, output_model
