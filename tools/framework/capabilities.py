"""What a tool declares it can do, and the result shape each kind of declaration promises.

A tool states its capabilities when it is registered (``registry.tool(..., capabilities=...)``) and a
MONAI bundle states them in its ``metadata.json``. The rules planner builds its plan from these
declarations and from which tools can run here; it never names a tool or a bundle.

Each kind of capability comes with a *reading*: the part of the tool's result model the planner
reads. Registration refuses a declaration whose tool's result model lacks the reading's fields, so
a planner that reads a record through its reading never meets a missing key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mimir import vocabulary as voc
from mimir.tools.analysis.geometry import IndexLesion, LabelMeasurement
from mimir.tools.framework.errors import RegistrationError

if TYPE_CHECKING:
    from mimir.settings import Settings

CapabilityKind = Literal["segments", "classifies", "measures", "compares_over_time", "retrieves_priors",
                         "retrieves_similar", "answers_visually", "describes"]
KINDS: tuple[CapabilityKind, ...] = ("segments", "classifies", "measures", "compares_over_time", "retrieves_priors",
                                     "retrieves_similar", "answers_visually", "describes")


class Capability(BaseModel):
    """One thing a tool can do, for which images, and the fixed arguments that select it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CapabilityKind
    target: str = Field(default="", description="segments: the finding or structure; classifies: the attribute "
                                                "(sequence, laterality, view, finding); measures: the quantity")
    values: tuple[str, ...] = Field(default=(), description="classifies: the values; segments: the label names")
    modalities: tuple[str, ...] = Field(default=(), description="Modalities it takes, as the vocabulary names them "
                                                                  "(MR, CT, XR, MG, OP, ...); empty: any")
    dims: tuple[int, ...] = Field(default=(), description="Image dimensions it takes (2, 3); empty: any")
    unit: str | None = Field(default=None, description="measures: the unit of the value")
    field: str | None = Field(default=None, description="measures: the result field that holds the value")
    prefers: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Inputs it reads best, best first, e.g. {'sequence': ('T1C', 'FLAIR')}")
    arguments: dict[str, Any] = Field(default_factory=dict, description="Fixed arguments that select this capability")
    source: str = Field(default="", description="Where it was declared (a bundle's name), for messages")

    def takes(self, modality: str | None = None, dims: int | None = None) -> bool:
        """True when an image of this modality and dimension is within the declaration (unknown: yes)."""
        modality = canonical_modality(modality)
        mod_ok = not self.modalities or modality is None or modality in self.modalities
        return mod_ok and (not self.dims or dims is None or dims in self.dims)

    def describe(self) -> str:
        """A short phrase for people: 'segments brain lesion (MR, 2D)'."""
        where = ", ".join([*self.modalities, *(f"{d}D" for d in self.dims)])
        what = self.target or ""
        if self.values and self.kind == "classifies":
            what += f" ({'/'.join(self.values)})"
        return " ".join(x for x in (self.kind.replace("_", " "), what, f"({where})" if where else "") if x)


def canonical_modality(value: str | None) -> str | None:
    """A modality as the clinical vocabulary names it ('MRI' -> 'MR', 'FUNDUS' -> 'OP'); unknown codes upper-cased."""
    if not value:
        return None
    return voc.code_of("modality", value) or voc.modality_of(value) or value.strip().upper()


def _upper(items: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(m for m in (canonical_modality(str(x)) for x in items) if m)


def segments(target: str, *, labels: tuple[str, ...] = (), modalities: tuple[str, ...] = (), dims: tuple[int, ...] = (),
             prefers: dict[str, tuple[str, ...]] | None = None, arguments: dict[str, Any] | None = None,
             source: str = "") -> Capability:
    """It segments ``target`` (labels ``labels``) on images of these modalities and dimensions."""
    return Capability(kind="segments", target=target, values=tuple(labels), modalities=_upper(modalities),
                      dims=tuple(dims), prefers=prefers or {}, arguments=arguments or {}, source=source)


def classifies(attribute: str, values: tuple[str, ...], *, modalities: tuple[str, ...] = (), dims: tuple[int, ...] = (),
               arguments: dict[str, Any] | None = None, source: str = "") -> Capability:
    """It tells the ``attribute`` (sequence, laterality, view, finding) of an image, one of ``values``."""
    return Capability(kind="classifies", target=attribute, values=tuple(values), modalities=_upper(modalities),
                      dims=tuple(dims), arguments=arguments or {}, source=source)


def measures(quantity: str, *, field: str, unit: str | None = None, modalities: tuple[str, ...] = (),
             dims: tuple[int, ...] = (), arguments: dict[str, Any] | None = None) -> Capability:
    """It measures ``quantity`` of one image (argument ``image_index``); the value is result field ``field``."""
    return Capability(kind="measures", target=quantity, field=field, unit=unit, modalities=_upper(modalities),
                      dims=tuple(dims), arguments=arguments or {})


def compares_over_time() -> Capability:
    """It classifies the change of a measurement over timepoints (response categories)."""
    return Capability(kind="compares_over_time", target="lesion size")


def retrieves(what: Literal["priors", "similar cases"]) -> Capability:
    """It retrieves this patient's prior studies, or other patients' similar cases."""
    return Capability(kind="retrieves_priors" if what == "priors" else "retrieves_similar", target=what)


def answers_visually(*, modalities: tuple[str, ...] = (), dims: tuple[int, ...] = ()) -> Capability:
    """It answers a question by looking at several images (a vision-language model)."""
    return Capability(kind="answers_visually", modalities=_upper(modalities), dims=tuple(dims))


def describes(*, modalities: tuple[str, ...] = (), dims: tuple[int, ...] = ()) -> Capability:
    """It describes one image in words."""
    return Capability(kind="describes", modalities=_upper(modalities), dims=tuple(dims))


# -- readings: the part of a result the planner reads, per kind -----------------------------------


class Reading(BaseModel):
    """Base of the readings: extra result fields are ignored, missing ones are an error."""

    model_config = ConfigDict(extra="ignore")


class SegmentationReading(Reading):
    """What ``segments`` promises: per-label sizes and the index lesion of one image."""

    image_index: int
    shape: list[int]
    measurements: list[LabelMeasurement]
    index_lesion: IndexLesion | None = None
    limits: dict[str, str] = {}  # the expert's declared misses, by the reading they affect


class ClassificationReading(Reading):
    """What ``classifies`` promises: the label and every label's probability."""

    image_index: int
    label: str
    probability: float
    probabilities: dict[str, float]


class ChangeReading(Reading):
    """One quantity's change and its response category."""

    quantity: str
    unit: str
    baseline: float
    nadir: float
    last: float
    percent_change: float | None = None
    category: str


class ComparisonReading(Reading):
    """What ``compares_over_time`` promises."""

    changes: list[ChangeReading]
    standard: str


class VisualReading(Reading):
    """What ``answers_visually`` and ``describes`` promise: the text and, for options, a letter."""

    text: str
    letter: str | None = None


class StudyReading(Reading):
    """A study a retrieval result cites."""

    study_id: int
    study_date: date | None = None
    modality: str | None = None
    description: str | None = None
    image_ids: list[int] = Field(default_factory=list)


class CourseStep(Reading):
    """A finding's value at one date."""

    study_date: date | None = None
    value: float | None = None
    unit: str | None = None


class CourseReading(Reading):
    """How one finding moved across studies."""

    label: str
    steps: list[CourseStep]


class PriorsReading(Reading):
    """What ``retrieves_priors`` promises."""

    study: StudyReading
    priors: list[StudyReading]
    cites: list[str]


class SimilarCaseReading(Reading):
    """One similar case: its study, what came after, and how findings moved."""

    study: StudyReading
    later: list[StudyReading] = Field(default_factory=list)
    course: list[CourseReading] = Field(default_factory=list)


class SimilarReading(Reading):
    """What ``retrieves_similar`` promises."""

    study: StudyReading
    cases: list[SimilarCaseReading]
    cites: list[str]


READINGS: dict[CapabilityKind, type[Reading]] = {
    "segments": SegmentationReading, "classifies": ClassificationReading, "compares_over_time": ComparisonReading,
    "answers_visually": VisualReading, "describes": VisualReading, "retrieves_priors": PriorsReading,
    "retrieves_similar": SimilarReading,
}
#: Declarations a tool carries: fixed, or computed from the installation (bundles found in settings).
Declarations = tuple[Capability, ...] | Callable[["Settings"], tuple[Capability, ...]]


#: The input fields a planner fills for each kind (besides the declaration's fixed ``arguments``).
INPUTS: dict[CapabilityKind, tuple[str, ...]] = {
    "segments": ("image_index",), "classifies": ("image_index",), "measures": ("image_index",),
    "describes": ("image_index",), "answers_visually": ("image_indices", "question"),
    "compares_over_time": ("timepoints",), "retrieves_priors": ("image_index",), "retrieves_similar": ("image_index",),
}


def check_declaration(tool: str, capability: Capability, output_model: type[BaseModel],
                      input_model: type[BaseModel] | None = None) -> None:
    """Refuse a declaration the tool cannot keep: an input field or result field it lacks."""
    if input_model is not None:
        wanted = [*INPUTS[capability.kind], *capability.arguments]
        lacking = [n for n in wanted if n not in input_model.model_fields]
        if lacking:
            raise RegistrationError(f"tool '{tool}' declares '{capability.kind}' but its input model "
                                    f"{input_model.__name__} lacks {', '.join(lacking)}")
    fields = output_model.model_fields
    if capability.kind == "measures":
        if not capability.field or capability.field not in fields:
            raise RegistrationError(f"tool '{tool}' declares it measures '{capability.target}' in field "
                                    f"'{capability.field}', which its result model {output_model.__name__} lacks")
        return
    reading = READINGS.get(capability.kind)
    required = [n for n, f in reading.model_fields.items() if f.is_required()] if reading else []
    missing = [n for n in required if n not in fields]
    if missing:
        raise RegistrationError(f"tool '{tool}' declares '{capability.kind}' but its result model "
                                f"{output_model.__name__} lacks {', '.join(missing)} (see {reading.__name__ if reading else ''})")


def measured_value(result: dict[str, Any], capability: Capability) -> float | None:
    """The number a ``measures`` declaration names in a result (None when it is not a number)."""
    value = result.get(capability.field or "")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
