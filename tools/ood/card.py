"""The fingerprint's section of a bundle's model card (``docs/README.md``), rewritten on every fit."""

from __future__ import annotations

from pathlib import Path

from mimir.tools.ood.fingerprint import OUT_RATIO, Fingerprint

START, END = "<!-- fingerprint:start -->", "<!-- fingerprint:end -->"


def section(fp: Fingerprint, command: str) -> str:
    """The card's words for one fingerprint."""
    formats = ", ".join(f"{n} {k}" for k, n in sorted(fp.kinds.items())) or "formats not recorded"
    lines = [
        START,
        "## Fingerprint (out-of-distribution check)",
        "",
        f"`models/fingerprint.json` was fitted on {fp.source}: {fp.images} files ({formats}).",
        "Three in four give each check's mean and covariance; the images of every fourth patient are held out, and "
        "a check's threshold is the 99th percentile of their distances. An input above a threshold is *borderline*, "
        f"above {OUT_RATIO}x a threshold *out*: the expert declines it and says why.",
    ]
    if fp.temperature is not None:
        c = fp.calibration
        lines.append(f"Temperature {fp.temperature:.3f}, fitted on the same images' labels; held-out expected "
                     f"calibration error {c.get('ece_before', float('nan')):.3f} before, "
                     f"{c.get('ece_after', float('nan')):.3f} after ({int(c.get('held_out', 0))} images).")
    lines += ["", "Re-fit after new weights:", "", "```", command, "```", END]
    return "\n".join(lines)


def record(bundle_root: Path, fp: Fingerprint, command: str) -> Path | None:
    """Write (or replace) the section in the bundle's model card; None when the bundle has no card."""
    card = Path(bundle_root) / "docs" / "README.md"
    if not card.is_file():
        return None
    text, new = card.read_text(), section(fp, command)
    if START in text and END in text:
        text = text[: text.index(START)] + new + text[text.index(END) + len(END):]
    elif "\n## Limitations" in text:
        at = text.index("\n## Limitations") + 1
        text = text[:at] + new + "\n\n" + text[at:]
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    card.write_text(text)
    return card
