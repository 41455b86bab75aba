"""The engine under mimir's clinical vocabulary: table entries, term patterns, matching, negation.

:mod:`mimir.vocabulary` is the API; this module only knows how a table of terms is read and
matched. Matching rules: terms are whole words, any case; a space or hyphen in a term matches a
space, hyphen, underscore or nothing; a trailing ``*`` matches any word ending; abbreviations keep
their case; where mentions overlap the longest wins; a mention preceded by a negation cue in the same
clause (or followed by a postposed one) is marked ``negated``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from pydantic import BaseModel, ConfigDict, Field

TRANSLATE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                            "\u2010": "-", "\u2011": "-", "\u00a0": " "})
_SEP = r"[\s_\-]*"
_NEGATION_WINDOW = 4  # words between a preposed cue and what it negates
#: A gap in a term ("different ... from"): the word ``...`` stands for up to this many words of a noun phrase.
GAP = "..."
GAP_WORDS = 3
#: One word of a gap: letters or digits, with joined signs ("T1+C", "patient's"); never punctuation.
GAP_WORD = r"[A-Za-z0-9][\w'+]*"


class Entry(BaseModel):
    """One value of a concept and the words for it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    terms: list[str] = Field(default_factory=list)
    abbreviations: list[str] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list)
    refines: str | None = None
    compose: dict[str, str | list[str]] | list[dict[str, str | list[str]]] | None = Field(
        None, description="{words: [...], with: concept, order: before|after|either}, or a list of such rules: each "
                          "word joined with each term of that concept, or of one value of it ('concept.value'), before "
                          "it, after it, or either (default either)")
    note: str | None = None


@dataclass(frozen=True)
class Mention:
    """One vocabulary term found in a text."""

    concept: str
    value: str
    start: int
    end: int
    text: str
    negated: bool = False


def term_regex(term: str, exact_case: bool = False, gap_word: str = GAP_WORD) -> str:
    """The regular expression (source) that reads one term of the table, without word boundaries.

    A term whose parts a noun phrase may separate is written with ``...`` between them ("different ...
    from" reads "different from", "a different sequence from", "different MR weighting from"): the gap
    is at most GAP_WORDS words, each a ``gap_word`` (the table passes one that is no clause break), and
    never punctuation.
    """
    if exact_case and re.fullmatch(r"[A-Z]{2,4}", term.strip()):  # "OD" also reads "O.D.", as abbreviations are dotted
        return f"(?-i:{'[.]?'.join(term.strip())}(?:[.](?![A-Za-z0-9]))?)"
    pieces = [_parts_regex(piece) for piece in term.strip().split(GAP)]
    gap = rf"[\s_\-]+(?:(?:{gap_word})[\s_\-]+){{0,{GAP_WORDS}}}?"
    body = gap.join(p for p in pieces if p)
    return f"(?-i:{body})" if exact_case else body


def _parts_regex(text: str) -> str:
    parts = []
    for token in re.split(r"[\s\-]+", text.strip()):
        star = token.endswith("*") and len(token) > 1
        core = re.escape(token[:-1] if star else token)
        parts.append(core + (r"(?:[^\W\d_]|'|-(?=[A-Za-z]))*" if star else ""))
    return _SEP.join(parts)


_WORD_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]")
WORD_END = r"(?![A-Za-z0-9])"


class Vocabulary:
    """The loaded table with compiled readers per concept (one small pattern per first letter)."""

    def __init__(self, table: dict[str, dict[str, Entry]]) -> None:
        self.table = table
        #: Abbreviations of "number" before a numeral ("no. 2", "Nr 3"): the table's ``numero`` terms.
        self.numero_words = frozenset(t.lower() for e in table.get("numero", {}).values() for t in e.terms)
        breaks = [re.escape(t) for e in table.get("clause_break", {}).values() for t in e.terms]
        #: One word inside a gapped term: any word but a clause break ("a different scan, and ..." is no gap).
        self.gap_word = (rf"(?!(?:{'|'.join(breaks)})(?![A-Za-z0-9])){GAP_WORD}" if breaks else GAP_WORD)
        self._readers: dict[str, dict[str, tuple[re.Pattern[str], list[str]]]] = {}
        for concept, values in table.items():
            for value, entry in values.items():
                if entry.refines is not None and entry.refines not in values:
                    raise ValueError(f"vocabulary: {concept}.{value} refines unknown value {entry.refines!r}")
                bad = [t for t in (*entry.terms, *entry.abbreviations) if not t[:1].isalnum()]
                if bad:
                    raise ValueError(f"vocabulary: {concept}.{value} has terms that do not start with a letter or digit: {bad}")
            self._readers[concept] = self._compile(values, self.gap_word)
        #: What ends a negation's scope: punctuation, or a clause-breaking word of the table ("but").
        self.scope_end = re.compile(r"[,;:.?!\n]" + (rf"|\b(?:{'|'.join(breaks)})\b" if breaks else ""), re.I)
        copulas = [re.escape(t) for e in table.get("copula", {}).values() for t in e.terms]
        #: A copula right before a postposed cue makes the cue the clause's predicate ("can residual tumour be excluded?").
        self.copula_end = re.compile(rf"(?<![A-Za-z0-9])(?:{'|'.join(copulas)})\s+$", re.I) if copulas else None
        verbs = copulas + [re.escape(t) for e in table.get("auxiliary", {}).values() for t in e.terms]
        #: A copula or auxiliary right before a preposed cue makes it a verb's negation, which denies the whole predicate
        #: ("which frame is not the same weighting as the T2?"); so does a contracted one ("isn't", "doesn't").
        self.verb_end = re.compile(rf"(?<![A-Za-z0-9])(?:{'|'.join(verbs)})\s+$", re.I) if verbs else None
        #: A preposed cue that ends in a complementizer ("excluded that") governs the whole clause it opens.
        that = table.get("statement_frame", {}).get("that")
        self.complementizers = frozenset(t.lower() for t in that.terms) if that is not None else frozenset()

    @staticmethod
    def _compile(values: dict[str, Entry], gap_word: str) -> dict[str, tuple[re.Pattern[str], list[str]]]:
        by_letter: dict[str, list[tuple[int, str, str]]] = {}
        for value, entry in values.items():
            for ts, exact in ((entry.terms, False), (entry.abbreviations, True)):
                for t in ts:
                    by_letter.setdefault(t[0].lower(), []).append((len(t), term_regex(t, exact, gap_word), value))
        readers = {}
        for letter, alts in by_letter.items():
            alts.sort(key=lambda a: -a[0])  # longest term first at any one position
            source = "(?:" + "|".join(f"(?P<t{k}>{rx})" for k, (_, rx, _) in enumerate(alts)) + ")" + WORD_END
            readers[letter] = (re.compile(source, re.I), [v for _, _, v in alts])
        return readers

    def concept(self, concept: str) -> dict[str, Entry]:
        """The values of a concept (KeyError names the known concepts)."""
        if concept not in self.table:
            raise KeyError(f"Unknown vocabulary concept {concept!r}; known: {', '.join(self.table)}")
        return self.table[concept]

    def raw(self, text: str, concept: str) -> list[Mention]:
        """Every mention of one concept, leftmost-longest, without negation."""
        self.concept(concept)
        readers = self._readers[concept]
        text = text.translate(TRANSLATE)
        out: list[Mention] = []
        end = 0
        for w in _WORD_START.finditer(text):
            if w.start() < end or (reader := readers.get(w.group(0).lower())) is None:
                continue
            m = reader[0].match(text, w.start())
            if m is not None:
                value = reader[1][int(str(m.lastgroup)[1:])]
                out.append(Mention(concept, value, m.start(), m.end(), m.group(0)))
                end = m.end()
        return out


def settle(mentions: list[Mention]) -> list[Mention]:
    """Keep the longest mention where spans overlap (earlier ones win ties), in reading order."""
    ranked = sorted(mentions, key=lambda m: (-(m.end - m.start), m.start))
    kept: list[Mention] = []
    for m in ranked:
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


def _negated(voc: Vocabulary, text: str, m: Mention, cues: list[Mention]) -> bool:
    """True when a cue governs ``m``.

    A preposed cue governs a few words after it in its clause (the whole clause after a complementizer:
    "excluded that ..."; only the word it is joined to as a prefix: "non-FLAIR"); a postposed one the words
    right before it (the clause's subject when a copula makes the cue its predicate: "can growth of the mass
    be excluded?").
    """
    for cue in cues:
        if cue.value == "pre" and cue.end <= m.start:
            gap = text[cue.end:m.start]
            if text.startswith("-", cue.end):  # a prefix ("non-FLAIR T2") denies only the word it is joined to
                if gap == "-":
                    return True
                continue
            following = gap.split()[0].lower() if gap.split() else ""  # "can we exclude that the mass grew?"
            clause = cue.text.split()[-1].lower() in voc.complementizers or following in voc.complementizers \
                or cue.text.lower().endswith("n't") \
                or voc.verb_end is not None and bool(voc.verb_end.search(text[:cue.start]))
            if not voc.scope_end.search(gap) and (clause or len(gap.split()) <= _NEGATION_WINDOW):
                return True
        if cue.value == "post" and cue.start >= m.end:
            gap = text[m.end:cue.start]
            predicate = voc.copula_end is not None and bool(voc.copula_end.search(text[:cue.start]))
            if predicate:  # the subject may hold an aside: "can growth, as between the two scans, be excluded?"
                gap = _ASIDE.sub(" ", gap)
            if not voc.scope_end.search(gap) and (predicate or len(gap.split()) <= 2):
                return True
    return False


#: An aside inside a clause: between brackets, or between two commas with no other stop inside.
_ASIDE = re.compile(r"\([^()]*\)|,[^,;:.?!()]*,")

#: What follows the numero sign: its number, with or without the abbreviation's dot ("no. 2", "Nr 3").
_NUMERO_NEXT = re.compile(r"\s*\.?\s*\d")


def is_numero(voc: Vocabulary, text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` is the numero sign: an abbreviation of "number" (the table's ``numero``) before a numeral.

    The one place that decides it: the negation reader and the reference grammar both ask here.
    """
    return text[start:end].lower() in voc.numero_words and bool(_NUMERO_NEXT.match(text, end))


def negation_cues(voc: Vocabulary, text: str) -> list[Mention]:
    """The negation cues of a text, without the numero sign ("scan no. 2") or an answer's "no" before a clause."""
    return [c for c in voc.raw(text, "negation") if not is_numero(voc, text, c.start, c.end)
            and not (c.text.lower() in ("no", "nope") and _CLAUSE_AFTER.match(text, c.end))]


#: What follows "no" when it answers rather than negates: a clause of its own ("No there's some left",
#: "No it has grown"), not a noun phrase ("no residual tumour").
_CLAUSE_AFTER = re.compile(r"\s*,?\s*(?:there(?:'s|s|\s+(?:is|are|was|were))|it(?:'s|s)?\s+(?:is|has|was|did|does|got|grew|shrank)?|"
                           r"(?:I|we|they|he|she|you)\b|the\s+\w+\s+(?:is|has|was|did|got|grew|shrank))", re.I)


def mark_negation(voc: Vocabulary, text: str, found: list[Mention]) -> tuple[Mention, ...]:
    """``found`` with ``negated`` set where a negation cue of the table governs a mention."""
    if not found:
        return ()
    clean = text.translate(TRANSLATE)
    cues = [c for c in negation_cues(voc, text) if all(c.end <= m.start or c.start >= m.end for m in found)]
    return tuple(Mention(m.concept, m.value, m.start, m.end, m.text, _negated(voc, clean, m, cues))
                 for m in found)


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TextLoader(_Base):  # type: ignore[valid-type, misc]
    """YAML without implicit booleans or numbers: every scalar of the table is a word ("no", "on", "1")."""


_TextLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag == "tag:yaml.org,2002:null"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_table(text: str) -> Vocabulary:
    """A vocabulary from the YAML text of a table (the shipped one, or a reviewer's edited copy)."""
    raw = yaml.load(text, Loader=_TextLoader)  # a SafeLoader subclass
    table = {c: {str(v): Entry.model_validate(e) for v, e in values.items()} for c, values in raw.items()}
    return Vocabulary(_composed(table))


def _composed(table: dict[str, dict[str, Entry]]) -> dict[str, dict[str, Entry]]:
    """Entries with their composed terms added: each of ``compose.words`` before and after each term of ``compose.with``.

    ``compose`` may be one rule or a list of them; ``with`` names a concept, or one value of it ("procedure.resection").
    """
    for concept, values in table.items():
        for value, entry in values.items():
            rules = [entry.compose] if isinstance(entry.compose, dict) else entry.compose or []
            made: list[str] = []
            for rule in rules:
                made += _compose_rule(table, f"{concept}.{value}", rule)
            if made:
                values[value] = entry.model_copy(update={"terms": [*entry.terms, *dict.fromkeys(t for t in made if t not in entry.terms)]})
    return table


def _compose_rule(table: dict[str, dict[str, Entry]], where: str, rule: dict[str, str | list[str]]) -> list[str]:
    words, other = rule.get("words", []), str(rule.get("with", ""))
    concept, _, value = other.partition(".")
    if concept not in table or value and value not in table[concept] or not isinstance(words, list):
        raise ValueError(f"vocabulary: {where} composes with unknown concept {other!r}")
    qualifiers = [t for v, e in table[concept].items() if not value or v == value for t in (*e.terms, *e.abbreviations)]
    order = rule.get("order", "either")
    return ([f"{w} {q}" for w in words for q in qualifiers] if order in ("before", "either") else []) + \
           ([f"{q} {w}" for w in words for q in qualifiers] if order in ("after", "either") else [])
