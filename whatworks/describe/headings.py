"""The heading vocabulary: which section or item kind a heading, a line or a marker names.

Shared by the section finder, the item finder and the template reader (lowest of the three, so
none of them imports another to ask what a heading means). The words are in
data/headings.yaml, heading_words.yaml and item_markers.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from whatworks import vocab
from whatworks.text import BULLET, fold, normalize_heading, split_number

#: Kinds whose sub-headings belong to them whatever their words say (an annex's
#: "Background" is not the report's background).
CONTAINERS = ("annex", "terms_of_reference", "people_met", "references", "acronyms",
              "table_of_contents", "front_matter", "management_response")
#: Kinds a container may still hold as themselves (ILO templates sit in annexes).
CONTAINED_OK = ("lessons_learned", "good_practices")
#: The evaluation criteria under which findings are often organised.
CRITERIA = ("relevance", "coherence", "design", "effectiveness", "efficiency", "impact",
            "sustainability")
FINDINGS_FAMILY = ("findings", *CRITERIA)
#: Item kind → the section kind that holds it.
ITEM_SECTION = {
    "recommendation": "recommendations",
    "finding": "findings",
    "conclusion": "conclusions",
    "lesson_learned": "lessons_learned",
    "good_practice": "good_practices",
}


# --- text helpers -------------------------------------------------------------------


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def numbering_depth(number: str | None) -> int | None:
    """"4" → 1, "4.2" → 2, "4.2.1" → 3; letters/roman → None."""
    if not number or not re.fullmatch(r"\d+(?:\.\d+)*\.?", number):
        return None
    parts = [p for p in number.rstrip(".").split(".")]
    if len(parts) > 1 and parts[-1] == "0":  # "1.0 Introduction"
        parts = parts[:-1]
    return len(parts)


# --- vocabulary -------------------------------------------------------------------------


@dataclass
class Vocabulary:
    phrases: dict[tuple[str, ...], str]
    modifiers: list[tuple[str, ...]]
    annex_words: set[str]
    annex_kinds: set[str]
    markers: dict[str, re.Pattern]  # item kind → pattern on folded text
    words: dict[str, list[str]]  # item kind → its marker words, normalised ("recommendation")
    list_intros: list[str] = field(default_factory=list)
    conjunctions: frozenset[str] = frozenset()
    summary_of: frozenset[str] = frozenset()
    key_words: frozenset[str] = frozenset()
    post_modifiers: frozenset[str] = frozenset()
    max_len: int = 1


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(normalize_heading(phrase).split())


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    headings, words, item_words = vocab.load("headings"), vocab.load("heading_words"), vocab.load("item_markers")
    phrases: dict[tuple[str, ...], str] = {}
    for kind, concept in headings.items():
        for p in concept.all():
            w = _words(p)
            if w and w not in phrases:
                phrases[w] = kind
    modifiers = sorted({_words(m) for m in words.terms("modifier")} - {()}, key=len, reverse=True)
    markers = {}
    marker_words = {}
    for item_kind, concept in item_words.items():
        ws = sorted(dict.fromkeys(normalize_heading(w) for w in concept.all()), key=len, reverse=True)
        marker_words[item_kind] = ws
        alt = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ws)
        short = "|".join(re.escape(s) for s in sorted(concept.get("short", []), key=len, reverse=True))
        markers[item_kind] = re.compile(
            rf"^\s*(?:{BULLET}\s*)?(?:\(\s*)?"
            rf"(?:(?P<word>{alt})s?\s*(?:n\.?\s?[o\u00b0\u00ba]\.?|nr\.?|num\.?|#)?\s*"
            rf"(?P<num>\d{{1,2}}(?:\.\d{{1,2}})?[a-z]?)"
            rf"|(?P<short>{short})\s?(?P<snum>\d{{1,2}}(?:\.\d{{1,2}})?[a-z]?))"
            r"(?![\d%])\s*(?:[:.)\-\u2013\u2014\]]|(?=\s)|$)"
        )
    return Vocabulary(
        phrases=phrases,
        modifiers=modifiers,
        annex_words={normalize_heading(w) for w in words.terms("annex_word")},
        annex_kinds=set(words["annex_word"].get("kinds", [])),
        markers=markers,
        words=marker_words,
        list_intros=[normalize_heading(s) for s in words.terms("list_intro")],
        conjunctions=frozenset(normalize_heading(w) for w in words.terms("conjunction")),
        summary_of=frozenset(normalize_heading(w) for w in words.terms("summary_of")),
        key_words=frozenset(normalize_heading(w) for w in words.terms("key_word")),
        post_modifiers=frozenset(normalize_heading(w) for w in words.terms("post_modifier")),
        max_len=max(len(p) for p in phrases),
    )


def phrase_at(words: list[str], i: int, v: Vocabulary) -> tuple[str, int] | None:
    for n in range(min(v.max_len, len(words) - i), 0, -1):
        kind = v.phrases.get(tuple(words[i:i + n]))
        if kind:
            return kind, n
    return None


def skip_modifiers(words: list[str], i: int, v: Vocabulary) -> list[int]:
    """Positions to try after dropping leading modifiers ("Key", "Summary of", "Main")."""
    starts = [i]
    moved = True
    while moved:
        moved = False
        for m in v.modifiers:
            if tuple(words[i:i + len(m)]) == m and i + len(m) < len(words):
                i += len(m)
                starts.append(i)
                moved = True
                break
    return starts


def trim_post_modifiers(words: list[str], v: Vocabulary) -> list[str]:
    """`words` without the trailing words that do not change a heading's kind ("… de la
    evaluación", "principales"), so that the rest can be read as a whole heading."""
    phrases = sorted((pm.split() for pm in v.post_modifiers if " " in pm), key=len, reverse=True)
    moved = True
    while moved:
        moved = False
        for pm in phrases:
            if len(words) > len(pm) and words[-len(pm):] == pm:
                words = words[:-len(pm)]
                moved = True
                break
    return words


def _match(words: list[str], v: Vocabulary) -> list[str]:
    return _match_start(words, v) or _match_parts(words, v)


def _parts(words: list[str], v: Vocabulary) -> list[list[str]]:
    """"objectives and methodology of the evaluation" → [[objectives], [methodology, of, …]]."""
    parts: list[list[str]] = [[]]
    for w in words:
        if w in v.conjunctions:
            parts.append([])
        else:
            parts[-1].append(w)
    return [p for p in parts if p]


def _match_parts(words: list[str], v: Vocabulary) -> list[str]:
    """A short heading whose first words name nothing, joined by "and" to words that do:
    "Objectifs et méthodologie de l'évaluation", "Propósito, alcance y metodología de la
    evaluación", "Desafios e lições aprendidas". The qualifier ending the last part ("of the
    evaluation") belongs to every part."""
    if len(words) > 10:
        return []
    parts = _parts(words, v)
    if len(parts) < 2:
        return []
    last = parts[-1]
    cut = next((i for i, w in enumerate(last) if i > 0 and w in v.summary_of), None)
    qualifier = last[cut:] if cut is not None else []
    kinds: list[str] = []
    for k, part in enumerate(parts):
        if not kinds and k > 0 and len(parts[k - 1]) > 2:
            break  # "Core Issue #5: Economy and Efficiency": a topic with a criterion in it
        for cand in ([part + qualifier] if qualifier and part is not last else []) + [part]:
            found = _match_start(cand, v, whole=True)
            if found:
                kinds += [x for x in found if x not in kinds]
                break
    return kinds


def _match_start(words: list[str], v: Vocabulary, whole: bool = False) -> list[str]:
    """The kinds a heading names from its first words (after modifiers); `whole`: the
    phrase must be all of `words` (bar trailing modifiers such as "principales")."""
    for start in skip_modifiers(words, 0, v):
        hit = phrase_at(words, start, v)
        if not hit:
            continue
        kind, n = hit
        end = start + n
        if whole and not all(w in v.post_modifiers for w in words[end:]):
            continue
        if len(words) - end > 12:  # a sentence that happens to start with "Impact…"
            return []
        kinds = [kind]
        j = end
        while j < len(words):
            # "Summary of findings and recommendations": what the summary is of counts too
            joins = v.conjunctions | (v.summary_of if kind == "executive_summary" else frozenset())
            if words[j] in joins:
                for s in skip_modifiers(words, j + 1, v):
                    more = phrase_at(words, s, v)
                    if more:
                        if more[0] not in kinds:
                            kinds.append(more[0])
                        j = s + more[1] - 1
                        break
            j += 1
        return kinds
    return []


def item_marker(text: str) -> tuple[str, str, int] | None:
    """("Recommendation 3: Do X") → ("recommendation", "3", end of the marker)."""
    head = fold(text[:80])
    for kind, pattern in vocabulary().markers.items():
        m = pattern.match(head)
        if m:
            if m.group("word") and head[m.end("word"): m.end("word") + 1] == "s" \
                    and not head[m.end():].strip(" .:-\u2013\u2014"):
                continue  # "Main Findings 10": a contents line and its page, not finding 10
            num = m.group("num") or m.group("snum")
            if m.group("short"):
                num = text[m.start("short"):m.end("snum")].strip()
            return kind, num, m.end()
    return None


def heading_kinds(text: str) -> list[str]:
    """Section kinds a heading names, main one first; [] when it names none.

    "3. Conclusions and recommendations" → ["conclusions", "recommendations"];
    "Annexe 2 : Termes de référence" → ["terms_of_reference"]; "Annex C" → ["annex"].
    """
    v = vocabulary()
    title, _ = split_number(first_line(text))
    words = normalize_heading(title).split()
    if not words:
        return []
    if words[0] in v.annex_words:
        rest = words[1:]
        if rest and re.fullmatch(r"\d+|[a-z]|[ivx]+", rest[0]):
            rest = rest[1:]
        kinds = _match(rest, v) if rest else []
        kept = [k for k in kinds if k in v.annex_kinds]
        return kept or ["annex"]
    if item_marker(title) or item_marker(text):
        return []
    # "Terms of reference: final evaluation of …", "Conclusions – Relevance": the words
    # before the colon or dash name the section, the rest is a subtitle
    parts = re.split(r"\s*:\s*|\s+[\u2013\u2014-]\s+", title)
    if len(parts) > 1:
        kinds = _match(normalize_heading(parts[0]).split(), v)
        if kinds:
            return kinds
        # "Performance: Issue #4 – Achievement of expected outcomes": a short lead-in,
        # then the words that name the section
        if len(parts[0].split()) <= 2:
            for part in parts[1:]:
                part_words = normalize_heading(part).split()
                if 0 < len(part_words) <= 8:
                    kinds = _match(part_words, v)
                    if kinds:
                        return kinds
    kinds = _match(words, v)
    first = title.split()[0]
    if not kinds and len(words) > 1 and first.isupper() and first.isalpha() and len(first) <= 6 \
            and not title.isupper():
        kinds = _match(words[1:], v)  # "ABSB Management Response", "ILO Lessons learned"
    return kinds


# --- table of contents --------------------------------------------------------------------

def is_annex_heading(text: str) -> bool:
    """"Annex 2: …", "Anexo B", "Appendix C": a heading that opens the back matter."""
    words = normalize_heading(split_number(first_line(text))[0]).split()
    return bool(words) and words[0] in vocabulary().annex_words
