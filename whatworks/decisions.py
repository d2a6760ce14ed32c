"""People's decisions at the two judging stages, screening and coding, and how far people agree.

Every decision goes through here, from the CLI and the workspace alike: one row in the stage's
decision table (whatworks.store.selection / whatworks.store.codes) and one audit line, in one
transaction. Agreement (Cohen's kappa) is computed from the same tables, so a decision taken on
the command line counts like one taken in the browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from whatworks.errors import Forbidden, NotFound, ReviewError
from whatworks.store import audit
from whatworks.store import codes as coding_store
from whatworks.store import documents as docs
from whatworks.store import selection as screening_store
from whatworks.store.base import Store
from whatworks.team import MACHINE, User

DECISIONS = ("include", "maybe", "exclude")
POLARITIES = ("positive", "negative", "neutral", "mixed")
STAGES = ("screening", "coding")


def _may_decide(user: User) -> None:
    if not user.can_review:
        raise Forbidden(f"{user.name} is a {user.role} and cannot record decisions")


# --- screening ---------------------------------------------------------------------------------

def decide(store: Store, sha256: str, decision: str, reason: str, user: User) -> None:
    """A person's screening decision on a document (replacing their earlier one), with its audit
    line. A lead's decision is final; reviewers who disagree leave the document in conflict."""
    if decision not in DECISIONS:
        raise ReviewError(f"decision {decision!r}: use one of {', '.join(DECISIONS)}")
    _may_decide(user)
    if not docs.has_document(store, sha256):
        raise NotFound(f"no document {sha256[:12]} in this review")
    reason = (reason or "").strip()
    machine = (screening_store.machine_record(store, sha256) or {}).get("decision")
    with store.transaction():
        old = screening_store.decision_of(store, sha256, user.name)
        screening_store.save_decision(store, sha256, user.name, user.role, decision, reason, machine)
        audit.add(store, user.name, "screen", f"document:{sha256}",
                  {"decision": old["decision"], "reason": old["reason"]} if old else None,
                  {"decision": decision, "reason": reason, "machine": machine}, reason)


def resolve(store: Store, sha256: str, decision: str, reason: str, lead: User) -> None:
    """The lead's final decision on a document people (or a person and the machine) disagree on."""
    if not lead.is_lead:
        raise Forbidden(f"only a lead resolves conflicts; {lead.name} is a {lead.role}")
    if decision not in DECISIONS:
        raise ReviewError(f"decision {decision!r}: use one of {', '.join(DECISIONS)}")
    if not docs.has_document(store, sha256):
        raise NotFound(f"no document {sha256[:12]} in this review")
    reason = (reason or "").strip()
    machine = (screening_store.machine_record(store, sha256) or {}).get("decision")
    with store.transaction():
        old = screening_store.resolution(store, sha256)
        screening_store.save_resolution(store, sha256, decision, reason, lead.name, machine)
        audit.add(store, lead.name, "resolve", f"document:{sha256}",
                  {"decision": old["decision"], "reason": old["reason"]} if old else None,
                  {"decision": decision, "reason": reason}, reason)


def conflicts(store: Store, visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Documents where people disagree, or a person disagrees with the machine, not resolved by a
    lead since (a resolution older than a decision is open again)."""
    machine = screening_store.machine_decisions(store)
    resolutions = {r["sha256"]: r for r in screening_store.resolution_rows(store)}
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for r in screening_store.decision_rows(store):
        if visible is None or r["reviewer"] in visible:
            by_doc.setdefault(r["sha256"], []).append(r)
    out = []
    for sha, rows in by_doc.items():
        resolved = resolutions.get(sha)
        if resolved is not None and all(r["decided_at"] <= resolved["resolved_at"] for r in rows):
            continue
        human = {r["decision"] for r in rows}
        m = machine.get(sha)
        kinds = (["reviewers"] if len(human) > 1 else []) + (["machine"] if m and any(d != m for d in human) else [])
        if kinds:
            out.append({"sha256": sha, "kinds": kinds, "machine": m, "decisions": rows})
    return out


def second_looks(store: Store) -> list[dict[str, Any]]:
    """Decisions taken when the machine said something else than it says now."""
    machine = screening_store.machine_decisions(store)
    out = []
    for r in screening_store.decision_rows(store):
        now = machine.get(r["sha256"])
        if r["machine"] is not None and now is not None and now != r["machine"]:
            out.append({**r, "machine_now": now})
    for r in screening_store.resolution_rows(store):
        now = machine.get(r["sha256"])
        if r["machine"] is not None and now is not None and now != r["machine"]:
            out.append({"sha256": r["sha256"], "reviewer": r["lead"], "decision": r["decision"],
                        "machine": r["machine"], "decided_at": r["resolved_at"], "machine_now": now})
    return out


# --- coding ----------------------------------------------------------------------------------

def code(store: Store, sha256: str, idx: int, themes: Iterable[str], user: User, *, known: Iterable[str],
         polarity: str | None = None, not_evidence: bool | None = None, note: str = "") -> None:
    """A person's answer for one item (their whole set of themes, and optionally its polarity and
    whether it is evidence), replacing their earlier one, with its audit line. `known`: the
    codebook's theme ids (a theme outside it is refused)."""
    _may_decide(user)
    themes = sorted(set(themes))
    unknown = sorted(set(themes) - set(known))
    if unknown:
        raise ReviewError(f"no theme {', '.join(unknown)} in the codebook")
    if polarity is not None and polarity not in POLARITIES:
        raise ReviewError(f"polarity {polarity!r}: use one of {', '.join(POLARITIES)}")
    rows = docs.item_rows(store, sha256=sha256, idx=idx)
    if not rows:
        raise NotFound(f"no item {idx} in document {sha256[:12]}")
    item = rows[0]
    machine = sorted({r["theme"] for r in coding_store.code_rows(store, [sha256])
                      if r["item_key"] == item["item_key"] and r["engine"] != "llm"})
    with store.transaction():
        old = [r for r in coding_store.code_decision_rows(store, sha256, item["item_key"], user.name)]
        coding_store.save_code_decision(store, sha256=sha256, item_key=item["item_key"], reviewer=user.name,
                                        role=user.role, idx=idx, themes=themes, machine=machine, text=item["text"],
                                        polarity=polarity, not_evidence=not_evidence, note=note)
        before = {"themes": old[-1]["themes"]} if old else {"machine": machine}
        after: dict[str, Any] = {"themes": themes}
        if polarity is not None:
            after["polarity"] = polarity
        if not_evidence is not None:
            after["not_evidence"] = not_evidence
        audit.add(store, user.name, "code", f"item:{sha256}:{idx}", before, after, note or None)


def item_answers(store: Store, sha256: str | None = None,
                 visible: Sequence[str] | None = None) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(sha256, item key) → person → their latest answer {themes, polarity, not_evidence, role}."""
    out: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in coding_store.code_decision_rows(store, sha256):
        if visible is None or r["reviewer"] in visible:
            out.setdefault((r["sha256"], r["item_key"]), {})[r["reviewer"]] = r
    return out


def settled(answers: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The answer that stands for an item: a lead's (the latest), else the latest reviewer's."""
    if not answers:
        return None
    leads = [a for a in answers.values() if a["role"] == "lead"]
    return max(leads or answers.values(), key=lambda a: a["decided_at"])


# --- agreement -----------------------------------------------------------------------------------

@dataclass
class PairAgreement:
    """Agreement of two raters (people, or a person and the machine) at one stage."""

    stage: str
    a: str
    b: str
    n: int  # units both rated
    agreed: int
    labels: list[str] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)  # rows: a's label, columns: b's
    kappa: float | None = None  # None when undefined (too few units, or one label only)
    shared: int = 0  # documents or items both rated

    @property
    def raw(self) -> float | None:
        return self.agreed / self.n if self.n else None

    @property
    def min_shared(self) -> int:
        """How many shared documents or items kappa needs (MIN_SHARED): below it, kappa is None."""
        return MIN_SHARED

    @property
    def versus_machine(self) -> bool:
        return MACHINE in (self.a, self.b)

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "a": self.a, "b": self.b, "n": self.n, "shared": self.shared,
                "agreed": self.agreed, "raw": self.raw, "kappa": self.kappa, "labels": self.labels,
                "confusion": self.confusion}


#: Kappa is shown only from this many shared documents (screening) or items (coding) up.
MIN_SHARED = 5


def kappa_of(table: list[list[int]]) -> float | None:
    """Cohen's kappa of a confusion table; None when undefined (no units, or chance agreement 1)."""
    n = sum(map(sum, table))
    if not n:
        return None
    k = len(table)
    po = sum(table[i][i] for i in range(k)) / n
    pe = sum(sum(table[i]) * sum(row[i] for row in table) for i in range(k)) / (n * n)
    return None if pe >= 1.0 else (po - pe) / (1 - pe)


def cohen_kappa(pairs: list[tuple[str, str]], labels: list[str] | None = None) -> tuple[float | None, list[str],
                                                                                         list[list[int]]]:
    """Cohen's kappa of paired labels, the label order and the confusion table (rows: first rater)."""
    labels = labels or sorted({x for p in pairs for x in p})
    index = {label: i for i, label in enumerate(labels)}
    table = [[0] * len(labels) for _ in labels]
    for a, b in pairs:
        table[index[a]][index[b]] += 1
    return kappa_of(table), labels, table


def _screening_pair(a: str, b: str, ra: dict[str, str], rb: dict[str, str]) -> PairAgreement:
    pairs = [(ra[u], rb[u]) for u in sorted(set(ra) & set(rb))]
    kappa, labels, table = cohen_kappa(pairs, list(DECISIONS))
    n = len(pairs)
    return PairAgreement("screening", a, b, n, sum(1 for x, y in pairs if x == y), labels, table,
                         kappa if n >= MIN_SHARED else None, n)


def _coding_pair(a: str, b: str, sa: dict[Any, set[str]], sb: dict[Any, set[str]], universe: set[str]) -> PairAgreement:
    """Coding agreement over (item, theme) units."""
    both = only_a = only_b = neither = 0
    shared = set(sa) & set(sb)
    for unit in shared:
        x, y = sa[unit] & universe, sb[unit] & universe
        both += len(x & y)
        only_a += len(x - y)
        only_b += len(y - x)
        neither += len(universe) - len(x | y)
    table = [[both, only_a], [only_b, neither]]
    n = both + only_a + only_b + neither
    return PairAgreement("coding", a, b, n, both + neither, ["applied", "not applied"], table,
                         kappa_of(table) if len(shared) >= MIN_SHARED else None, len(shared))


def agreement(store: Store, stage: str, *, themes: Sequence[str] | None = None,
              visible: Sequence[str] | None = None) -> list[PairAgreement]:
    """Cohen's kappa and raw agreement for every pair of people and every person against the
    machine. Screening: units are documents, labels include / maybe / exclude. Coding: units are
    (item, theme) for every theme of the codebook (`themes`), labels applied / not applied.
    Kappa is None below MIN_SHARED shared documents or items."""
    if stage not in STAGES:
        raise ReviewError(f"stage {stage!r}: use one of {', '.join(STAGES)}")
    if stage == "screening":
        ratings: dict[str, dict[str, str]] = {}
        for r in screening_store.decision_rows(store):
            if visible is None or r["reviewer"] in visible:
                ratings.setdefault(r["reviewer"], {})[r["sha256"]] = r["decision"]
        reviewed = {s for per in ratings.values() for s in per}
        machine = {s: d for s, d in screening_store.machine_decisions(store).items() if s in reviewed and d in DECISIONS}
        out = [_screening_pair(a, b, ratings[a], ratings[b]) for a, b in combinations(sorted(ratings), 2)]
        out = [p for p in out if p.n]
        return out + [_screening_pair(r, MACHINE, ratings[r], machine) for r in sorted(ratings)]
    sets: dict[str, dict[Any, set[str]]] = {}
    for unit, per in item_answers(store, visible=visible).items():
        for reviewer, answer in per.items():
            sets.setdefault(reviewer, {})[unit] = set(answer["themes"])
    units = {u for per in sets.values() for u in per}
    machine_sets: dict[Any, set[str]] = {u: set() for u in units}
    for r in coding_store.code_rows(store, sorted({s for s, _ in units})):
        if (r["sha256"], r["item_key"]) in machine_sets and r["engine"] != "llm":
            machine_sets[(r["sha256"], r["item_key"])].add(r["theme"])
    universe = set(themes or [])
    if not universe:
        universe = {t for per in sets.values() for ts in per.values() for t in ts}
        universe |= {t for ts in machine_sets.values() for t in ts}
    out = [_coding_pair(a, b, sets[a], sets[b], universe) for a, b in combinations(sorted(sets), 2)]
    out = [p for p in out if p.shared]
    return out + [_coding_pair(r, MACHINE, sets[r], machine_sets, universe) for r in sorted(sets)]
