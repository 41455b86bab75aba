"""Call a registered tool: validate, check availability and the cache, run, record.

``ToolRunner(registry, ctx).call(name, args)`` is the one way mimir runs a tool. A result model with
a ``findings`` field (a list of :class:`FindingSpec`) has those findings written to the timeline,
linked to the ToolRun, when the context has a session and a patient.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mimir.tools.framework.cache import (
    INDEX_FIELDS,
    InputHasher,
    StoredRun,
    cache_key,
    referenced_indices,
    store_for,
)
from mimir.tools.framework.errors import ToolArgumentError, ToolUnavailable

if TYPE_CHECKING:
    from mimir.tools.framework.context import ToolContext
    from mimir.tools.framework.registry import Registry, ToolSpec

log = logging.getLogger(__name__)


class FindingSpec(BaseModel):
    """A finding a tool reports; the runner stores it as a timeline ``Finding``."""

    label: str = Field(description="What was found or measured, e.g. 'tumor volume'")
    location: str | None = None
    value: float | None = None
    unit: str | None = None
    image_indices: list[int] = Field(default_factory=list)


class ToolOutcome(BaseModel):
    """The result of one call, with its run id and whether it came from the cache."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    tool: str
    result: BaseModel
    tool_run_id: int | None
    cached: bool
    duration_s: float
    artifacts: list[str] = Field(default_factory=list)


class ToolRunner:
    """Runs tools of one registry in one context (settings, case images, optional session)."""

    def __init__(self, registry: Registry, ctx: ToolContext) -> None:
        self.registry = registry
        self.ctx = ctx
        self.hasher = InputHasher()

    def call(self, name: str, args: dict[str, Any]) -> ToolOutcome:
        """Run tool ``name`` with ``args``; cached results are returned without running."""
        try:
            spec = self.registry.get(name)
        except KeyError as e:
            raise ToolArgumentError(str(e.args[0])) from None
        parsed = validate_args(spec, args)
        reason = spec.unavailable_reason(self.ctx.settings)
        if reason is not None:
            raise ToolUnavailable(f"tool '{name}' is unavailable: {reason}")
        arguments = parsed.model_dump(mode="json")
        hashes = [self.hasher.hash(self.ctx.image_path(i)) for i in referenced_indices(parsed)]
        hashes += [self.hasher.hash(p) for p in referenced_files(arguments)]
        state = spec.model_state(self.ctx.settings) if spec.model_state is not None else None
        key = cache_key(spec.name, spec.version, without_indices(arguments), hashes, state)
        store = store_for(self.ctx)
        if spec.cacheable and (hit := store.lookup(key)) is not None:
            log.info("tool %s: cache hit (run %s)", name, hit.id)
            result = spec.output_model.model_validate(rebind_indices(hit.output, arguments))
            return ToolOutcome(tool=name, result=result, tool_run_id=hit.id, cached=True,
                               duration_s=hit.duration_s, artifacts=hit.artifacts)
        release_connection(self.ctx)
        start = time.perf_counter()
        result = spec.func(parsed, self.ctx)
        duration = time.perf_counter() - start
        artifacts = artifact_paths(result)
        run = StoredRun(id=0, tool=spec.name, version=spec.version, cache_key=key, arguments=arguments,
                        output=result.model_dump(mode="json"), artifacts=artifacts, duration_s=duration,
                        input_hashes=hashes)
        run_id = store.record(run, patient_pk(self.ctx))
        record_findings(self.ctx, run_id, list(getattr(result, "findings", None) or []))
        log.info("tool %s: ran in %.2f s (run %s)", name, duration, run_id)
        return ToolOutcome(tool=name, result=result, tool_run_id=run_id, cached=False,
                           duration_s=duration, artifacts=artifacts)

    def stored_run(self, run_id: int) -> StoredRun | None:
        """A finished run of this context by id (timeline or in-memory)."""
        return store_for(self.ctx).get(run_id)


def release_connection(ctx: ToolContext) -> None:
    """End the session's transaction before a tool runs, so its connection goes back to the pool.

    A tool may run for seconds; parallel calls (a question's tools, ``mimir eval --concurrency``)
    each hold a session, and a session keeps its connection from its first query to its commit, so
    sessions held through tool runs exhausted the pool. The store's reads and earlier runs' records
    are committed here; the session takes a connection again when it next touches the database
    (the tool's own timeline queries, then recording the run). A transaction the caller began
    explicitly, or one with unflushed changes, is left alone.
    """
    from sqlalchemy.orm import SessionTransactionOrigin

    session = ctx.session
    transaction = session.get_transaction() if session is not None else None
    if session is None or transaction is None or transaction.origin is not SessionTransactionOrigin.AUTOBEGIN:
        return
    if session.new or session.dirty or session.deleted:
        return
    session.commit()


def validate_args(spec: ToolSpec, args: dict[str, Any]) -> BaseModel:
    """The parsed input model, or a ToolArgumentError listing each bad field and value."""
    if not isinstance(args, dict):
        raise ToolArgumentError(f"arguments to '{spec.name}' must be a JSON object, got {args!r}")
    try:
        return spec.input_model.model_validate(args)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(arguments)"
            value = "missing" if err["type"] == "missing" else f"got {err.get('input')!r}"
            problems.append(f"{where}: {err['msg']} ({value})")
        fields = ", ".join(spec.input_model.model_fields)
        raise ToolArgumentError(
            f"bad arguments for '{spec.name}': " + "; ".join(problems) + f". Accepted fields: {fields}"
        ) from None


def referenced_files(arguments: dict[str, Any]) -> list[Path]:
    """Existing files named by top-level ``*_path`` arguments (e.g. a mask): their content counts too."""
    return [Path(v) for k, v in arguments.items() if k.endswith("_path") and isinstance(v, str) and Path(v).is_file()]


def without_indices(value: Any) -> Any:
    """Arguments with image indices removed: the images' content hashes stand in for them."""
    if isinstance(value, dict):
        return {k: without_indices(v) for k, v in value.items() if k not in INDEX_FIELDS}
    if isinstance(value, list):
        return [without_indices(v) for v in value]
    return value


def rebind_indices(output: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """A cached output with this call's top-level image indices (same content, other position)."""
    return {**output, **{k: arguments[k] for k in INDEX_FIELDS if k in output and k in arguments}}


def artifact_paths(result: BaseModel) -> list[str]:
    """Files a result points to: fields named ``artifacts`` or ending in ``_path``."""
    paths: list[str] = []
    for name in type(result).model_fields:
        value = getattr(result, name)
        if name == "artifacts" and isinstance(value, list):
            paths.extend(str(v) for v in value)
        elif name.endswith("_path") and isinstance(value, str | Path):
            paths.append(str(value))
    return paths


def patient_pk(ctx: ToolContext) -> int | None:
    """The timeline id of ``ctx.patient_id`` (a patient key, or a numeric id), if known."""
    if ctx.session is None or ctx.patient_id is None:
        return None
    from sqlalchemy import select

    from mimir.memory.models import Patient

    pk = ctx.session.scalars(select(Patient.id).where(Patient.patient_key == ctx.patient_id)).first()
    if pk is None and ctx.patient_id.isdigit():
        found: Patient | None = ctx.session.get(Patient, int(ctx.patient_id))
        if found:
            pk = int(ctx.patient_id)
    return pk


def record_findings(ctx: ToolContext, tool_run_id: int | None, findings: list[FindingSpec]) -> int:
    """Write findings linked to a ToolRun when there is a session and a known patient; returns count."""
    pk = patient_pk(ctx)
    if ctx.session is None or pk is None or not findings:
        return 0
    from mimir.memory.models import Finding, Image

    for spec in findings:
        ids = [ctx.images[i].image_id for i in spec.image_indices if 0 <= i < len(ctx.images)]
        images = [img for i in ids if i is not None and (img := ctx.session.get(Image, i)) is not None]
        study_id = images[-1].series.study_id if images else None
        ctx.session.add(Finding(
            patient_id=pk, study_id=study_id, tool_run_id=tool_run_id, label=spec.label,
            location=spec.location, value=spec.value, unit=spec.unit, images=images,
        ))
    ctx.session.flush()
    return len(findings)
