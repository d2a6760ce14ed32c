"""claims: what the coded items say, grouped into statements a reader can check.

Within one theme, the items of one polarity that say the same thing (close multilingual
embeddings, average-linkage clusters) form a claim. Its statement is extractive, offline and
deterministic: the cluster's most representative sentence, attributed to the reports and the
places it comes from ("In Senegal and Burkina Faso (E3) and Cabo Verde (E1), …"), and the other
reports that say the same. Its citations are the verbatim quotes behind it, each with its
report, source file and page (PDF) or section heading. A theme that holds both polarities gets a
contrast: what worked where, and what did not.

Polarity routes the "why": a success factor's claims rest only on positive items, a challenge's
only on negative ones (the coder's polarity, or the reviewer's).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as url_quote

import numpy as np

from whatworks.text import normalise_space

#: Two items whose embeddings are at least this similar (cosine, on average across the groups
#: being merged) say the same thing.
SAME_CLAIM = 0.62
#: A machine code leads a claim only when its score passes its theme's threshold by this much (a
#: reviewer's code always may): a close call is counted in the headline, never quoted as the claim.
#: Chosen on the gold set's dev split (out-of-fold): codes this far past their threshold are right
#: 91% (ILO) and 89% (Canada) of the time, against 58% for all codes.
LEAD_MARGIN = 0.3
#: …and, for a claim of what worked or fell short, when the coder is at least this sure of its polarity:
#: a finding, conclusion or lesson called positive this surely is positive 81% (ILO) and 77% (Canada)
#: of the time, against 67% and 55% for all called positive (dev split, out of fold:
#: scripts/train_coder.py --cv-only prints it).
LEAD_POLARITY = 0.7
#: Claims kept per theme and polarity (the rest are counted, not stated).
CLAIMS_PER_THEME = 2
#: Citations kept per claim.
CITATIONS_PER_CLAIM = 4
#: A statement's sentence is cut at about this many characters (at a word boundary, with "…").
STATEMENT_CHARS = 320
#: How a claim attributes its sentence, by the item's kind: a lesson or a good practice is the
#: evaluation's generalisation (advice, often), and a reader should not take it for an observed result.
SAYS = {"finding": "finds", "conclusion": "concludes", "lesson_learned": "draws the lesson",
        "good_practice": "reports as a good practice"}
#: Polarity a group of the codebook's themes requires of its evidence.
ROUTED = {"success_factors": ("positive",), "challenges": ("negative",)}
#: First words a statement may lower-case after its attribution ("The project…" → "the project…").
_LOWER = re.compile(r"^(The|This|These|Those|A|An|Its|Their|It|There|Most|Many|Some|All|Both|Several|Each|"
                    r"Overall|Such)\b")


@dataclass
class Citation:
    """One verbatim quote behind a statement, and where a reader finds it."""

    report_id: str
    sha256: str
    source: str  # the file path as collected
    quote: str  # verbatim (whitespace-normalised) on `page` of the source, or in its section
    page: int | None  # 1-based physical page (PDF); None for HTML, Word, Markdown and text
    section: str | None  # the heading of the section the item sits in
    anchor: str | None  # a link target inside the source: "#page=12", or a text fragment
    kind: str  # the item's kind (finding, lesson_learned…)
    item: int  # the item's index in its report
    polarity: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": self.sha256, "report": self.report_id, "page": self.page,
                "section": self.section, "anchor": self.anchor, "quote": self.quote, "kind": self.kind,
                "item": self.item}


@dataclass
class Evidence:
    """One coded item under one theme, with its checked quote and what the claim needs of it."""

    citation: Citation
    theme: str
    vector: np.ndarray
    places: list[str] = field(default_factory=list)  # where the report's evaluation took place
    quality: float = 1.0  # the report's appraisal score (0–1)
    language: str = "en"
    reviewed: bool = False
    strength: float = 0.0  # how far the code's score passes its theme's threshold (1 when a reviewer's)
    polarity_sure: float = 1.0  # the coder's confidence in the item's polarity (1 when a reviewer's)
    names_theme: bool = True  # the quote uses a distinctive word of its theme's label or descriptors
    must_name: bool = False  # the theme is a named thing (a programme, a group): its quote must name it
    advice: bool = False  # the quote gives advice ("projects should…"): it states no effect
    shows: bool = True  # the quote shows what its question asks (for whom: that the group was reached)

    @property
    def can_lead(self) -> bool:
        """Whether the item may state a claim. A recommendation says what should be done, not what
        was done or worked; a machine-coded quote about an intervention or a group that never names it
        leaves the reader to guess why it stands there. Both are counted, never quoted as a claim."""
        if self.citation.kind == "recommendation":
            return False
        if self.reviewed:
            return True
        if self.must_name and not self.names_theme:
            return False
        sure = self.citation.polarity not in ("positive", "negative") or self.polarity_sure >= LEAD_POLARITY
        return self.strength >= LEAD_MARGIN and sure


@dataclass
class Statement:
    """A claim in words, with the reports and quotes it rests on."""

    text: str
    polarity: str  # positive | negative | neutral | mixed
    themes: list[str]
    reports: list[str]  # report ids, best-supported first
    citations: list[Citation]
    lead: str = ""  # the representative sentence, verbatim
    weight: float = 0.0  # how much evidence: reports, weighted by their quality
    source: str = "extractive"  # extractive | llm
    names_theme: bool = True  # its lead sentence uses a word of its theme (preferred: a reader sees why)
    advice: bool = False  # its lead sentence gives advice rather than stating an effect (led so only as a last resort)
    shows: bool = True  # its lead sentence shows what the question asks (for whom: that the group was reached)

    @property
    def loose(self) -> bool:
        """Whether the lead fits its headline only loosely (advice, or a group named but not shown reached)."""
        return self.advice or not self.shows

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "polarity": self.polarity, "themes": self.themes, "reports": self.reports,
                "citations": [c.to_dict() for c in self.citations], "source": self.source}


# --- grouping ---------------------------------------------------------------------------------

def cluster(vectors: np.ndarray, same: float = SAME_CLAIM) -> list[list[int]]:
    """Average-linkage clusters of unit vectors whose members are on average at least `same`
    similar; largest first, singletons included."""
    n = len(vectors)
    if n == 0:
        return []
    if n == 1:
        return [[0]]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    distances = np.clip(pdist(vectors.astype(np.float64), "cosine"), 0.0, 2.0)
    labels = fcluster(linkage(distances, "average"), t=1.0 - same, criterion="distance")
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def claims(evidence: Sequence[Evidence], polarity: str, themes: list[str], places: Callable[[list[Evidence]], str],
           limit: int = CLAIMS_PER_THEME, used: set[str] | None = None) -> list[Statement]:
    """The claims `evidence` (one theme, one polarity) makes, strongest first. A sentence already
    leading a claim elsewhere (`used`, updated) leads this one only when nothing else can, so a
    reader does not meet the same quote under every theme."""
    used = used if used is not None else set()
    evidence = [e for e in evidence if e.can_lead]  # close calls count in the headline, never in a claim
    if not evidence:
        return []
    vectors = np.vstack([e.vector for e in evidence])
    out = []
    for group in cluster(vectors):
        members = [evidence[i] for i in group]
        vs = vectors[group]
        centrality = (vs @ vs.mean(0)) if len(group) > 1 else np.ones(1)
        # a sentence that states what happened leads before advice, and one showing the group reached
        # before one that only names it; then a reviewer's, then one naming the theme, then the most central
        order = sorted(range(len(group)), key=lambda k: (members[k].citation.quote in used, members[k].advice,
                                                         not members[k].shows,
                                                         -members[k].reviewed, not members[k].names_theme,
                                                         -round(float(centrality[k]), 3),
                                                         -members[k].quality, _rid_key(members[k].citation.report_id),
                                                         members[k].citation.item))
        lead = members[order[0]]
        by_report: dict[str, Evidence] = {}
        for k in order:
            by_report.setdefault(members[k].citation.report_id, members[k])
        weight = sum(e.quality for e in by_report.values())
        citations = [lead.citation] + [e.citation for rid, e in by_report.items()
                                       if rid != lead.citation.report_id][: CITATIONS_PER_CLAIM - 1]
        reports = [lead.citation.report_id] + sorted((r for r in by_report if r != lead.citation.report_id),
                                                     key=_rid_key)
        text = attributed(lead, places([lead]), reports[1:])
        out.append(Statement(text, polarity, themes, reports, citations, lead.citation.quote,
                             weight + 0.5 * min(lead.strength, 1.0), names_theme=lead.names_theme,
                             advice=lead.advice, shows=lead.shows))
    out.sort(key=lambda s: (s.lead in used, s.loose, not s.names_theme, -s.weight, -len(s.citations), s.lead))
    out = _varied(out, limit)
    used.update(s.lead for s in out)
    return out


def _varied(ranked: list[Statement], limit: int) -> list[Statement]:
    """The first `limit` claims, each led by another report where the evidence allows: a theme
    that three reports support should not quote one of them twice while the others stay silent."""
    chosen: list[Statement] = []
    for c in ranked:
        if len(chosen) < limit and all(c.reports[0] != x.reports[0] for x in chosen):
            chosen.append(c)
    chosen += [c for c in ranked if c not in chosen][: limit - len(chosen)]
    return sorted(chosen, key=ranked.index)


def contrast(label: str, worked: Statement, failed: Statement) -> Statement:
    """One theme, both polarities: what worked where, and what did not."""
    reports = list(dict.fromkeys(worked.reports + failed.reports))
    text = (f"On {label}, the evidence is mixed. {worked.text} By contrast, "
            f"{_lower_first(failed.text)}")
    return Statement(text, "mixed", sorted(set(worked.themes) | set(failed.themes)), reports,
                     worked.citations[:2] + failed.citations[:2], worked.lead, worked.weight + failed.weight,
                     advice=worked.advice or failed.advice)


# --- words ----------------------------------------------------------------------------------------

def attributed(lead: Evidence, where: str, others: list[str]) -> str:
    """The representative sentence with where it comes from, and who else says the same."""
    sentence = trimmed(lead.citation.quote)
    rid = lead.citation.report_id
    verb = SAYS.get(lead.citation.kind, SAYS["finding"])
    generalised = lead.citation.kind in ("lesson_learned", "good_practice")  # the evaluation's, not a fact
    if not where:
        head = f"Report {rid} {verb}"
    elif generalised:
        head = f"In {where} ({rid}), the evaluation {verb}"
    else:
        head = f"In {where} ({rid})"
    if lead.language == "en" and where and not generalised and _LOWER.match(sentence):
        body = f"{head}, {_lower_first(sentence)}"
    else:
        body = f"{head}: “{sentence}”"
    if not body.rstrip("”").endswith((".", "!", "?", "…")):
        body += "."
    if others:
        body += f" {_ids(others)} {'reports' if len(others) == 1 else 'report'} the same."
    return body


def trimmed(sentence: str, limit: int = STATEMENT_CHARS) -> str:
    s = normalise_space(sentence)
    if len(s) <= limit:
        return s
    return s[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if _LOWER.match(text) else text


def _ids(ids: list[str]) -> str:
    if len(ids) <= 1:
        return "".join(ids)
    return ", ".join(ids[:-1]) + " and " + ids[-1]


def _rid_key(rid: str) -> tuple:
    digits = "".join(c for c in rid if c.isdigit())
    return (0 if rid.startswith("E") else 1, int(digits) if digits else 0, rid)


def anchor_for(source: str, page: int | None, quote: str) -> str | None:
    """Where in the source a browser should open: the page of a PDF, or a text fragment that
    scrolls an HTML page to the quote (and highlights it)."""
    lower = source.lower()
    if lower.endswith(".pdf") and page:
        return f"#page={page}"
    if lower.endswith((".html", ".htm")) and quote:
        words = quote.split()
        start = " ".join(words[:6]) if len(words) > 8 else quote
        return "#:~:text=" + url_quote(start, safe="")
    return None
