"""Fast writing of DICOM series: the shared header is encoded once per series.

A series' instances share all but five elements (SOP instance UID, instance number, position, slice
location, pixel data). Those are encoded by hand in Explicit VR Little Endian and merged in tag order
with the cached bytes of the shared elements and file meta; the result is the file that pydicom's
``Dataset.save_as`` writes for the same dataset (a test checks this byte for byte).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info

from mimir.demo.writers import DicomMeta, base_dataset, lps_position, lps_slice, opaque_name, set_pixels, uid

_SHORT_VRS = {"UI", "IS", "DS", "CS", "US", "UL", "SH", "LO", "DA", "TM", "PN"}
_SOP_UID, _MEDIA_UID = 0x00080018, 0x00020003
_INSTANCE, _POSITION, _LOCATION, _PIXELS = 0x00200013, 0x00200032, 0x00201041, 0x7FE00010


def _element(tag: int, vr: str, value: bytes) -> bytes:
    pad = b"\x00" if vr == "UI" else b" " if vr in _SHORT_VRS else b"\x00"
    if len(value) % 2:
        value += pad
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    if vr in _SHORT_VRS:
        return head + struct.pack("<H", len(value)) + value
    return head + b"\x00\x00" + struct.pack("<I", len(value)) + value


def _ds_text(values: list[float]) -> bytes:
    return "\\".join(repr(round(float(v), 4)) for v in values).encode()


def _bytes_io() -> DicomBytesIO:
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    return fp


def _encoded(ds: Dataset) -> dict[int, bytes]:
    out = {}
    for elem in ds:
        fp = _bytes_io()
        write_data_element(fp, elem, ["iso8859"])
        out[int(elem.tag)] = bytes(fp.getvalue())
    return out


class SeriesWriter:
    """Writes the instances of one series whose shared elements are in ``ds``."""

    def __init__(self, ds: Dataset) -> None:
        self._static = _encoded(ds)
        write_file_meta_info(_bytes_io(), ds.file_meta, enforce_standard=True)  # adds version/implementation
        meta = _encoded(ds.file_meta)
        meta.pop(0x00020000, None)
        meta.pop(_MEDIA_UID, None)
        self._meta = meta

    def write(self, path: Path, sop_uid: str, instance: int, position: tuple[float, float, float],
              pixels: np.ndarray) -> None:
        """Write one instance (``pixels``: uint16 rows x columns)."""
        meta = dict(self._meta)
        meta[_MEDIA_UID] = _element(_MEDIA_UID, "UI", sop_uid.encode())
        meta_body = b"".join(meta[t] for t in sorted(meta))
        group_length = _element(0x00020000, "UL", struct.pack("<I", len(meta_body)))
        parts = dict(self._static)
        parts[_SOP_UID] = _element(_SOP_UID, "UI", sop_uid.encode())
        parts[_INSTANCE] = _element(_INSTANCE, "IS", str(instance).encode())
        parts[_POSITION] = _element(_POSITION, "DS", _ds_text(list(position)))
        parts[_LOCATION] = _element(_LOCATION, "DS", _ds_text([position[2]]))
        parts[_PIXELS] = _element(_PIXELS, "OW", np.ascontiguousarray(pixels, dtype="<u2").tobytes())
        body = b"".join(parts[t] for t in sorted(parts))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00" * 128 + b"DICM" + group_length + meta_body + body)


def write_series(folder: Path, volume: np.ndarray, affine: np.ndarray, meta: DicomMeta, to_stored: float,
                 offset: float = 0.0, step: int = 2) -> int:
    """Write every ``step``-th axial slice as one DICOM file; returns the number written.

    Stored value = (value + ``offset``) * ``to_stored`` (CT: HU + 1024, with RescaleIntercept -1024).
    """
    ds = base_dataset(meta)
    spacing = float(abs(affine[0, 0]))
    ds.SliceThickness, ds.SpacingBetweenSlices = spacing, spacing * step
    ds.ImageOrientationPatient, ds.PixelSpacing = [1, 0, 0, 0, 1, 0], [spacing, spacing]
    nx, ny, nz = volume.shape
    set_pixels(ds, lps_slice(volume, 0))
    del ds.PixelData
    ds.file_meta.MediaStorageSOPInstanceUID = uid(meta.series_uid, "placeholder")
    writer = SeriesWriter(ds)
    stored = np.clip(np.round((volume + offset) * to_stored), 0, 4095).astype(np.uint16)
    slices = range(step // 2, nz, step)
    for n, k in enumerate(slices, start=1):
        position = lps_position(affine, nx - 1, ny - 1, k)
        writer.write(folder / f"{opaque_name(meta.series_uid, k)}.dcm", uid(meta.series_uid, "instance", k), n,
                     position, lps_slice(stored, k))
    return len(slices)
