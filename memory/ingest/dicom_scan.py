"""A strict, fast reader of the few DICOM header elements ingest needs, from bytes already in memory.

It only answers for plain, well-formed Part 10 files (preamble, little endian, known VRs, every
element inside the file, ASCII values). Anything else makes it decline (``None``) so that the
pydicom reader decides, which keeps the outcome of unusual files exactly what pydicom says.
"""

from __future__ import annotations

import re
from struct import Struct
from typing import Any

import pydicom.uid
from pydicom import config
from pydicom.charset import python_encoding
from pydicom.datadict import dictionary_VR
from pydicom.tag import Tag
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

_TAG_VR16 = Struct("<HH2sH")
_U32 = Struct("<L")
_IMPLICIT = Struct("<HHL")
_U16 = Struct("<H")
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
_KNOWN_VR = {v.encode() for v in VR if len(v) == 2}
_LONG_VR = {v.encode() for v in EXPLICIT_VR_LENGTH_32}
_VR_TEXT = {v: v.decode() for v in _KNOWN_VR}
_CHARSET = 0x00080005
_DICOMDIR = "1.2.840.10008.1.3.10"
_INT = re.compile(r"[+-]?\d+")
_FIELDS = (
    "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "SeriesInstanceUID",
    "SOPInstanceUID", "StudyDate", "SeriesDate", "AcquisitionDate", "StudyTime", "StudyID", "AccessionNumber",
    "Modality", "StudyDescription", "SeriesDescription", "ProtocolName", "BodyPartExamined", "ViewPosition",
    "ImageLaterality", "Laterality", "SeriesNumber", "InstanceNumber", "Rows", "Columns", "NumberOfFrames",
    "PixelSpacing", "ImagerPixelSpacing", "SliceThickness",
)
#: tag -> (keyword, dictionary VR) for the elements whose values ingest reads
_WANTED: dict[int, tuple[str, str]] = {int(Tag(k)): (k, dictionary_VR(k)) for k in _FIELDS}
_KEEP = frozenset(_WANTED) | {_CHARSET}
_SPECIAL = frozenset(_PIXEL_TAGS) | {0x00041220}  # pixel data; DirectoryRecordSequence (a DICOMDIR)
_ODD_GROUPS = frozenset((0x0000, 0x0002, 0xFFFE))  # command set, file meta, items: not in a plain dataset


class Unusual(Exception):
    """The file is not plain enough for the fast reader; pydicom reads it instead."""


class _Scan:
    """A cursor over one file's bytes (``size`` is the file's size; ``data`` may be only its head)."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size = data, size

    def need(self, end: int) -> None:
        if end > len(self.data) or end > self.size:
            raise Unusual("element beyond the bytes at hand")

    def element(self, pos: int, implicit: bool) -> tuple[int, str | None, int, int]:
        """(tag, VR or None, value length, value offset) of the element at ``pos``."""
        self.need(pos + 8)
        group, elem, vr, short = _TAG_VR16.unpack_from(self.data, pos)
        tag = group << 16 | elem
        if implicit or group == 0xFFFE:
            return tag, None, _U32.unpack_from(self.data, pos + 4)[0], pos + 8
        if vr not in _KNOWN_VR:
            raise Unusual(f"unknown VR {vr!r}")
        if vr in _LONG_VR:
            self.need(pos + 12)
            return tag, vr.decode(), _U32.unpack_from(self.data, pos + 8)[0], pos + 12
        return tag, vr.decode(), short, pos + 8

    def skip_items(self, pos: int, implicit: bool) -> int:
        """Walk the items of an undefined-length sequence; returns the offset after its delimiter."""
        while True:
            tag, _, length, pos = self.element(pos, True)
            if tag == _SEQ_END:
                return pos
            if tag != _ITEM:
                raise Unusual("sequence holds something other than items")
            if length == _UNDEFINED:
                pos = self.walk(pos, None, implicit)
            else:
                self.need(pos + length)
                if self.walk(pos, pos + length, implicit) != pos + length:
                    raise Unusual("item length does not match its elements")
                pos += length

    def walk(self, pos: int, end: int | None, implicit: bool) -> int:
        """Walk a nested dataset up to ``end`` (or its item delimiter); returns where it stopped."""
        while end is None or pos < end:
            tag, vr, length, pos = self.element(pos, implicit)
            if tag == _ITEM_END and end is None:
                return pos
            if tag >> 16 == 0xFFFE:
                raise Unusual("stray delimiter")
            pos = self.skip_value(tag, vr, length, pos, implicit)
        return pos

    def skip_value(self, tag: int, vr: str | None, length: int, pos: int, implicit: bool) -> int:
        if length != _UNDEFINED:
            self.need(pos + length)
            return pos + length
        if vr == "SQ" or (vr is None and _dict_vr(tag) == "SQ"):
            return self.skip_items(pos, implicit)
        raise Unusual("undefined length outside a sequence")

    def fragments(self, pos: int) -> int:
        """Walk encapsulated pixel data fragments; returns the offset after the sequence delimiter."""
        while True:
            tag, _, length, pos = self.element(pos, True)
            if tag == _SEQ_END:
                if length:
                    raise Unusual("sequence delimiter with a length")
                return pos
            if tag != _ITEM or length == _UNDEFINED:
                raise Unusual("malformed pixel data fragment")
            self.need(pos + length)
            pos += length


def _dict_vr(tag: int) -> str | None:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


def _meta(scan: _Scan) -> tuple[bool, int]:
    """Read the file meta group; returns (implicit VR dataset?, offset of the dataset)."""
    if scan.size < 132 or scan.data[128:132] != b"DICM":
        raise Unusual("no DICM prefix")
    pos, found = 132, {}
    while True:
        scan.need(pos + 8)
        if _U16.unpack_from(scan.data, pos)[0] != 2:
            break
        tag, _, length, start = scan.element(pos, False)
        if length == _UNDEFINED:
            raise Unusual("undefined length in the file meta")
        scan.need(start + length)
        found[tag] = scan.data[start : start + length]
        pos = start + length
    ts = _ascii(found.get(0x00020010, b"")).rstrip("\0 ")
    if _ascii(found.get(0x00020002, b"")).rstrip("\0 ") == _DICOMDIR:
        raise Unusual("DICOMDIR")
    if not ts or ts in (pydicom.uid.ExplicitVRBigEndian, pydicom.uid.DeflatedExplicitVRLittleEndian):
        raise Unusual(f"transfer syntax {ts!r}")
    if ts in pydicom.uid.PrivateTransferSyntaxes:
        raise Unusual("private transfer syntax")
    return ts == pydicom.uid.ImplicitVRLittleEndian, pos


def _ascii(raw: bytes) -> str:
    if not raw.isascii() or b"\x1b" in raw:
        raise Unusual("non-ASCII text")
    return raw.decode("ascii")


def scan_elements(data: bytes, size: int) -> dict[int, tuple[str | None, bytes]]:
    """The wanted elements of a plain DICOM file (tag -> (VR, raw value)); raises ``Unusual`` otherwise."""
    scan = _Scan(data, size)
    implicit, pos = _meta(scan)
    scan.need(pos + 6)
    b4, b5 = data[pos + 4], data[pos + 5]
    if (not (0x40 < b4 < 0x5B and 0x40 < b5 < 0x5B)) != implicit:
        raise Unusual("VR encoding differs from the transfer syntax")
    found: dict[int, tuple[str | None, bytes]] = {}
    limit, unpack, u32 = min(len(data), size), _TAG_VR16.unpack_from, _U32.unpack_from
    while pos < size:
        if pos + 12 > limit:  # near the end of the bytes at hand: the careful reader
            tag, vr, length, pos = scan.element(pos, implicit)
        elif implicit:
            group, elem, length = _IMPLICIT.unpack_from(data, pos)
            tag, vr, pos = group << 16 | elem, None, pos + 8
        else:  # explicit VR, inlined: this loop runs for every element of every file
            group, elem, raw_vr, length = unpack(data, pos)
            if group == 0xFFFE or raw_vr not in _KNOWN_VR:
                tag, vr, length, pos = scan.element(pos, implicit)
            else:
                tag, vr = group << 16 | elem, _VR_TEXT[raw_vr]
                if raw_vr in _LONG_VR:
                    length, pos = u32(data, pos + 8)[0], pos + 12
                else:
                    pos += 8
        end = pos + length
        if length != _UNDEFINED and end <= limit and tag not in _SPECIAL and tag >> 16 not in _ODD_GROUPS:
            if tag in _KEEP:  # the common case: a defined-length element inside the bytes at hand
                found[tag] = (vr, data[pos:end])
            pos = end
        else:
            pos = _special(scan, found, tag, vr, length, pos, implicit)
    if not any(t in found for t in _PIXEL_TAGS):
        raise Unusual("no pixel data")
    _check_charset(found.get(_CHARSET, (None, b""))[1])
    return found


def _special(scan: _Scan, found: dict[int, tuple[str | None, bytes]], tag: int, vr: str | None, length: int,
             pos: int, implicit: bool) -> int:
    """Pixel data, sequences of undefined length and anything odd; returns the offset after the element."""
    if tag >> 16 in _ODD_GROUPS or tag == 0x00041220:
        raise Unusual(f"unexpected element {tag:08X} in the dataset")
    if tag not in _PIXEL_TAGS:
        if tag in _KEEP and length != _UNDEFINED:
            scan.need(pos + length)
            found[tag] = (vr, scan.data[pos : pos + length])
        return scan.skip_value(tag, vr, length, pos, implicit)
    found.setdefault(tag, (vr, b""))
    if length == _UNDEFINED:
        if implicit or tag != 0x7FE00010 or vr not in ("OB", "OW"):
            raise Unusual("undefined-length pixel data")
        return scan.fragments(pos)
    if pos + length > scan.size:
        raise Unusual("pixel data beyond the end of the file")
    return pos + length  # pixel bytes may lie past the head that was read: only the size matters


def _check_charset(raw: bytes) -> None:
    """Only character sets pydicom knows by name, so that reading them cannot warn or fail."""
    names = _ascii(raw).rstrip(" \x00").split("\\")
    if len(names) == 1:
        ok = names[0] in python_encoding
    else:
        ok = all(n in python_encoding and (n.startswith("ISO 2022") or (k == 0 and not n))
                 for k, n in enumerate(names))
    if not ok:
        raise Unusual(f"character set {names!r}")


def _text(raw: bytes) -> str:
    value = _ascii(raw).rstrip("\0 ")
    if "\\" in value:
        raise Unusual("multi-valued text")
    return value


def _number(raw: bytes, vr: str) -> Any:
    text = _ascii(raw).strip().rstrip("\0 ")
    if not text:
        return ""
    if vr == "IS":
        if not _INT.fullmatch(text) or str(int(text)) != text:
            raise Unusual(f"unusual IS {text!r}")
        return int(text)
    try:
        parts = [float(p) for p in text.split("\\")]
    except ValueError as e:
        raise Unusual(f"unusual DS {text!r}") from e
    return parts[0] if len(parts) == 1 else parts


def _value(tag: int, vr: str | None, raw: bytes) -> Any:
    keyword, dict_vr = _WANTED[tag]
    if vr is not None and vr != dict_vr:
        raise Unusual(f"{keyword} has VR {vr}, not {dict_vr}")
    if dict_vr == "US":
        if len(raw) == 0:
            return None
        if len(raw) != 2:
            raise Unusual(f"{keyword} is multi-valued")
        return _U16.unpack(raw)[0]
    if dict_vr in ("IS", "DS"):
        value = _number(raw, dict_vr)
        if isinstance(value, list) and keyword == "SliceThickness":
            raise Unusual("multi-valued SliceThickness")
        return value
    text = _text(raw)
    if dict_vr == "PN" and "=" in text:
        raise Unusual("PN with component groups")
    return text


def _plain_config() -> bool:
    return not (config.datetime_conversion or config.use_DS_numpy or config.use_IS_numpy)


def fast_values(data: bytes, size: int) -> dict[str, Any] | None:
    """Header values keyed by keyword, as pydicom would give them; None when pydicom must read the file."""
    if not _plain_config():
        return None
    try:
        found = scan_elements(data, size)
        return {_WANTED[t][0]: _value(t, vr, raw) for t, (vr, raw) in found.items() if t in _WANTED}
    except Unusual:
        return None


__all__ = ["Unusual", "fast_values", "scan_elements"]
