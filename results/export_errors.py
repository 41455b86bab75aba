"""Why a result cannot become DICOM: light to import, so callers can catch these without loading highdicom."""

from __future__ import annotations

from mimir.memory.registration import PatientMismatch


class Refused(ValueError):
    """A result cannot be written as DICOM; the message says why."""


class MixedPatients(PatientMismatch):
    """The answer's images belong to more than one patient: an export holds one patient's objects."""
