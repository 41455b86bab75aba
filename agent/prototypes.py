"""Read an option by meaning when its words are not in the vocabulary: nearest change category, with a margin.

The prototypes are the vocabulary's own terms for each category (no second list): each term is
embedded once with the sentence embedder mimir ships for retrieval (all-MiniLM-L6-v2), and an option
takes the category of its most similar term only when that similarity is high enough and stands
clear of every other category's best. Anything less is no reading: the planner then abstains rather
than guess. The model loads on first use; options the vocabulary reads never reach it.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from mimir import vocabulary as voc

if TYPE_CHECKING:
    from mimir.tools.retrieval.embedders import TextEmbedder

log = logging.getLogger(__name__)
#: An option is read as a category only when its best cosine similarity to one of the category's terms
#: is at least FLOOR and beats every other category's best by MARGIN (measured on the dev paraphrases).
FLOOR = 0.55
MARGIN = 0.08
_CHANGE_CONCEPTS = {"increase": "change", "decrease": "change", "stable": "change", "resolved": "change",
                    "new": "change", "gross_total": "resection", "partial": "resection"}
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _embedder() -> TextEmbedder | None:
    try:
        from mimir.tools.retrieval.index_access import default_text_embedder

        return default_text_embedder()
    except ImportError as e:  # sentence-transformers or the model package missing: no reading by meaning
        log.info("options are read by their words only: %s", e)
        return None


@lru_cache(maxsize=64)
def _prototypes(concept: str, value: str) -> np.ndarray:
    terms = [t.replace("*", "") for t in voc.terms(concept, value)]
    embedder = _embedder()
    assert embedder is not None
    return embedder.embed(terms)


def closest_change(text: str, allowed: frozenset[str]) -> tuple[str, float] | None:
    """(change or resection category, its lead over the next) when one of ``allowed`` stands out for ``text``."""
    return closest(text, {v: _CHANGE_CONCEPTS[v] for v in allowed})


def closest(text: str, values: dict[str, str]) -> tuple[str, float] | None:
    """(value, its lead over the next) when one of ``values`` (value -> vocabulary concept) stands out for ``text``."""
    embedder = _embedder()
    if embedder is None or not values:
        return None
    with _lock:
        query = embedder.embed([text])[0]
        best = {v: float(np.max(_prototypes(c, v) @ query)) for v, c in sorted(values.items())}
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    top, score = ranked[0]
    lead = score - (ranked[1][1] if len(ranked) > 1 else 0.0)
    if score < FLOOR or lead < MARGIN:
        return None
    return top, round(lead, 3)
