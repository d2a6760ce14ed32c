"""Emerging themes: items that fit no codebook theme, grouped into candidate new themes.

A codebook is written before the reports are read; a synthesis must also notice what it
did not expect. Items of the included reports that no theme matched are clustered by the
similarity of their multilingual embeddings (average-linkage agglomerative clustering in
numpy, with a threshold relative to the items' own similarity distribution), and each
cluster gets a suggested label from its most distinctive words. Candidates are stored so
a reviewer can name them (then add a theme to the codebook) or dismiss them; a re-run
keeps those decisions for clusters that come back with mostly the same items.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from whatworks import decisions, vocab
from whatworks.coding import language_of
from whatworks.embedding import Embedder
from whatworks.errors import NotFound, ReviewError
from whatworks.store import codes as codes_store
from whatworks.store import documents as docs
from whatworks.store.base import Store
from whatworks.text import stem, words

log = logging.getLogger(__name__)

MIN_SIZE = 3
MAX_ITEMS = 1500  # clustering is quadratic in memory; beyond this, the first items by report order
#: Merge clusters while their average similarity is at least mean + RELATIVE × std of all pairs.
RELATIVE = 1.0
#: A stored candidate keeps its id, name and status when a new cluster shares this share of items.
KEEP_JACCARD = 0.5


@dataclass
class EmergingTheme:
    id: int | None
    label: str
    terms: list[str]
    size: int
    status: str = "candidate"  # candidate | named | dismissed
    name: str | None = None
    cohesion: float = 0.0  # average similarity within the cluster
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.name or self.label

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "name": self.name, "status": self.status, "terms": self.terms,
                "size": self.size, "cohesion": round(self.cohesion, 3), "items": self.items}


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    stopwords = vocab.load("stopwords")
    return frozenset(w for concept in stopwords.values() for w in concept.all())


def unfit_items(store: Store, shas: list[str]) -> list[dict[str, Any]]:
    """Items of `shas` that no theme fits: no code stands for them (the machine's, after people's
    decisions), and no person marked them as not evidence. As `coding.effective_codes` decides it
    (a person's answer replaces the machine's themes), without building every code: seconds saved
    on a large review, where the workspace's themes page asks after each coding decision."""
    if not shas:
        return []
    machine = codes_store.keys_with_codes(store, shas)
    answers = decisions.item_answers(store)
    out = []
    for r in docs.item_rows(store, shas):
        key = (r["sha256"], r["item_key"])
        answer = decisions.settled(answers.get(key, {}))
        coded = bool(answer["themes"]) if answer is not None else key in machine
        if coded or (answer is not None and answer.get("not_evidence")):
            continue
        out.append({"sha256": r["sha256"], "idx": r["idx"], "item_key": r["item_key"], "kind": r["kind"],
                    "text": r["text"], "page": r["page"]})
    return out


def cluster(vectors: np.ndarray, relative: float = RELATIVE, min_size: int = MIN_SIZE) -> list[list[int]]:
    """Average-linkage agglomerative clusters of unit vectors (indices), largest first.

    Merging stops when the best pair of clusters is less similar than mean + relative × std
    of all item pairs, so the cut adapts to the model and the corpus instead of a fixed cosine.
    """
    n = len(vectors)
    if n < min_size:
        return []
    sim = vectors @ vectors.T
    off = sim[~np.eye(n, dtype=bool)]
    cut = float(off.mean() + relative * off.std())
    # cluster-to-cluster sums of similarities; average = sum / (size_a * size_b)
    sums = sim.astype(np.float64).copy()
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    members: list[list[int]] = [[i] for i in range(n)]
    while True:
        avg = sums / np.outer(sizes, sizes)
        np.fill_diagonal(avg, -np.inf)
        avg[~alive, :] = -np.inf
        avg[:, ~alive] = -np.inf
        flat = int(np.argmax(avg))
        a, b = divmod(flat, n)
        if avg[a, b] < cut:
            break
        sums[a, :] += sums[b, :]
        sums[:, a] += sums[:, b]
        sizes[a] += sizes[b]
        alive[b] = False
        members[a] += members[b]
        members[b] = []
    groups = [sorted(m) for m in members if len(m) >= min_size]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def top_terms(texts: list[str], background: list[str], k: int = 5) -> list[str]:
    """The words most distinctive of `texts` against `background` (surface form as most often written)."""
    stop = _stopwords()

    def doc_terms(text: str) -> dict[str, str]:
        out: dict[str, str] = {}
        lang = language_of(text)
        for w in words(text):
            if len(w) < 4 or w in stop or w.isdigit():
                continue
            out.setdefault(stem(w, lang), w)
        return out

    inside = [doc_terms(t) for t in texts]
    outside = [doc_terms(t) for t in background]
    df_in = Counter(s for d in inside for s in d)
    df_out = Counter(s for d in outside for s in d)
    forms: dict[str, Counter] = {}
    for d in inside:
        for s, raw in d.items():
            forms.setdefault(s, Counter())[raw] += 1
    n_in, n_out = max(len(inside), 1), max(len(outside), 1)
    scored = []
    for s, c in df_in.items():
        if c < 2 and len(inside) > 2:
            continue
        score = c / n_in - df_out.get(s, 0) / n_out
        scored.append((score, c, s))
    scored.sort(key=lambda x: (-x[0], -x[1], x[2]))
    return [forms[s].most_common(1)[0][0] for _, _, s in scored[:k]]


def find_emerging(store: Store, shas: list[str], *, min_size: int = MIN_SIZE,
                  relative: float = RELATIVE) -> list[EmergingTheme]:
    """Cluster the items of `shas` that fit no theme into candidate themes, store them and return them."""
    items = unfit_items(store, list(shas))[:MAX_ITEMS]
    clusters: list[EmergingTheme] = []
    if len(items) >= min_size:
        vectors = Embedder(store).embed([i["text"] for i in items])
        groups = cluster(vectors, relative, min_size)
        background = [i["text"] for i in items]
        for g in groups:
            vs = vectors[g]
            centroid = vs.mean(axis=0)
            centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
            sims = vs @ centroid
            inner = vs @ vs.T
            cohesion = float((inner.sum() - len(g)) / max(len(g) * (len(g) - 1), 1))
            terms = top_terms([items[i]["text"] for i in g], background)
            members = []
            for i, s in sorted(zip(g, sims, strict=True), key=lambda x: -x[1]):
                it = dict(items[i])
                it["similarity"] = round(float(s), 3)
                members.append(it)
            clusters.append(EmergingTheme(None, " / ".join(terms[:3]) or "unlabelled", terms, len(g),
                                          cohesion=cohesion, items=members))
    _save(store, clusters)
    log.info("emerging themes: %d candidates from %d items that fit no theme", len(clusters), len(items))
    return clusters


def _save(store: Store, clusters: list[EmergingTheme]) -> None:
    """Replace the candidates, keeping the id, name and status of clusters that came back."""
    members: dict[int, set] = {}
    for m in codes_store.emerging_members(store):
        members.setdefault(m["theme_id"], set()).add((m["sha256"], m["item_key"]))
    old = {r["id"]: (r, members.get(r["id"], set())) for r in codes_store.emerging_rows(store)}
    now = time.time()
    used: set[int] = set()
    with store.transaction():
        for c in clusters:
            keys = {(i["sha256"], i["item_key"]) for i in c.items}
            match = None
            for oid, (_row, okeys) in old.items():
                if oid in used or not okeys:
                    continue
                jac = len(keys & okeys) / len(keys | okeys)
                if jac >= KEEP_JACCARD and (match is None or jac > match[1]):
                    match = (oid, jac)
            fields = {"label": c.label, "terms": json.dumps(c.terms, ensure_ascii=False), "size": c.size,
                      "cohesion": c.cohesion, "updated_at": now}
            if match:
                oid = match[0]
                used.add(oid)
                row = old[oid][0]
                c.id, c.status, c.name = oid, row["status"], row["name"]
            else:
                fields.update(status="candidate", created_at=now)
            c.id = codes_store.save_emerging(store, c.id, fields,
                                             [(i["sha256"], i["item_key"], i["similarity"]) for i in c.items])
        for oid, (row, _) in old.items():
            if oid not in used and row["status"] == "candidate":  # people's named/dismissed ones are kept
                codes_store.delete_emerging(store, oid)


def emerging_themes(store: Store, include_dismissed: bool = False) -> list[EmergingTheme]:
    """The stored candidates (and named ones), with their items, largest first."""
    members: dict[int, list[dict[str, Any]]] = {}
    for m in codes_store.emerging_members(store):
        members.setdefault(m["theme_id"], []).append(m)
    shas = sorted({m["sha256"] for ms in members.values() for m in ms})
    items = {(r["sha256"], r["item_key"]): r for r in docs.item_rows(store, shas)} if shas else {}
    out = []
    for r in codes_store.emerging_rows(store):
        if r["status"] == "dismissed" and not include_dismissed:
            continue
        shown = []
        for m in members.get(r["id"], []):
            it = items.get((m["sha256"], m["item_key"]))
            if it is not None:
                shown.append({"sha256": m["sha256"], "item_key": m["item_key"], "idx": it["idx"], "kind": it["kind"],
                              "text": it["text"], "page": it["page"], "similarity": m["similarity"]})
        out.append(EmergingTheme(r["id"], r["label"], json.loads(r["terms"] or "[]"), r["size"], r["status"],
                                 r["name"], r["cohesion"] or 0.0, shown))
    return out


def set_status(store: Store, theme_id: int, status: str, reviewer: str, name: str | None = None) -> None:
    """A person names (status 'named'), dismisses or promotes a candidate; audited."""
    from whatworks.store import audit

    if status == "named" and not (name or "").strip():
        raise ReviewError("an emerging theme needs a non-empty name")
    with store.transaction():
        if not codes_store.set_emerging_status(store, theme_id, status, reviewer, name.strip() if name else None):
            raise NotFound(f"no emerging theme {theme_id}")
        audit.add(store, reviewer, f"emerging.{status}", f"emerging:{theme_id}", None, {"name": name})
