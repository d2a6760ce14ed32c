"""coding: assign codebook themes, a polarity and an evidence flag to every item of the included
reports, with the supervised coder (whatworks.coder), refitted on the review's own decisions.

Machine results (`coded_items`: polarity, not evidence, uncertainty; `codes`: one row per theme
with its score, the words behind it and the sentence that best supports it) and people's
decisions (`code_decisions`, through whatworks.decisions) live in separate tables: a re-run
rewrites only the machine's. Items are keyed by a hash of their text, so re-running after
adding one report codes only that report's items; a new decision makes the next run refit the
review's model and code again (the embeddings are cached, so that is quick).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from whatworks import coder as coder_module
from whatworks import decisions
from whatworks.codebook import Codebook
from whatworks.coder import CoderModel
from whatworks.embedding import Embedder
from whatworks.store import codes as codes_store
from whatworks.store import documents as docs
from whatworks.store.base import Store
from whatworks.text import normalise_space, sentences

log = logging.getLogger(__name__)

#: Bumped when the coder changes enough that stored machine codes should be redone.
CODER_VERSION = "6"
#: The engine name of the supervised coder's codes (a language model's are "llm").
ENGINE = "model"


def item_key(text: str) -> str:
    """Stable key of an item: its text's hash, so a re-described report keeps its codes."""
    return docs.item_key(text)


def language_of(text: str) -> str:
    """The language an item's words are stemmed in (the identifier's guess on its start)."""
    from whatworks.language import detect

    return detect(text[:400])[0]


#: Quotes longer than this are cut to the sentence around the trigger.
MAX_QUOTE = 500
#: A quote shorter than this many words ("Key finding 3.") is joined with the next sentence.
MIN_QUOTE_WORDS = 6


def quote_sentences(text: str, language: str = "en") -> list[str]:
    """The item's sentences that can stand as a verbatim quote: a sentence too short to stand alone
    (a heading such as "Finding 2.") is joined with the next one; each is a substring of the
    whitespace-normalised item text."""
    sents = [normalise_space(x) for x in sentences(text, language)]
    sents = [x for x in sents if x]
    whole = normalise_space(text)
    out, k = [], 0
    while k < len(sents):
        chosen, j = sents[k], k
        while len(chosen.split()) < MIN_QUOTE_WORDS and j + 1 < len(sents):
            j += 1
            chosen = f"{chosen} {sents[j]}"
        if chosen not in whole:  # never anything that is not verbatim
            chosen = sents[k]
        if len(chosen) > MAX_QUOTE:
            chosen = chosen[:MAX_QUOTE].rsplit(" ", 1)[0]
        out.append(chosen)
        k = j + 1
    return out


def supporting_sentence(text: str, triggers: Sequence[str], language: str = "en") -> str:
    """The quotable sentence of `text` holding the first trigger word (or the first one)."""
    sents = quote_sentences(text, language)
    if not sents:
        return ""
    for trig in triggers:
        hit = next((x for x in sents if normalise_space(trig).lower() in x.lower()), None)
        if hit is not None:
            return hit
    return sents[0]


# --- the review's model ----------------------------------------------------------------------------

def base_model(codebook: Codebook) -> CoderModel:
    """The shipped model of the codebook, or of the shipped codebook sharing most of its themes."""
    model = coder_module.shipped(codebook.name)
    if model is not None:
        return model
    best = None
    for name in coder_module.shipped_codebooks():
        candidate = coder_module.shipped(name)
        overlap = len(set(candidate.themes.labels) & set(codebook.ids)) if candidate else 0
        if candidate is not None and (best is None or overlap > best[0]):
            best = (overlap, candidate)
    if best is None:
        raise RuntimeError("no shipped coder model: reinstall whatworks (whatworks/data/models is missing)")
    return best[1]


def theme_thresholds(codebook: Codebook) -> dict[str, float]:
    """Each theme's coding threshold (a theme the shipped model does not know: the median one)."""
    model = base_model(codebook)
    known = dict(zip(model.themes.labels, (float(x) for x in model.thresholds), strict=True))
    default = float(np.median(model.thresholds))
    return {t: known.get(t, default) for t in codebook.ids}


def review_model(store: Store, codebook: Codebook, embedder: Embedder) -> CoderModel:
    """The coder for this review: the shipped model of the codebook (or of the shipped codebook
    sharing most of its themes), adapted to the project's themes (a new theme learns from the
    codebook's own words), then refitted on the people's answers recorded in this review."""
    model = base_model(codebook)
    if list(model.themes.labels) != list(codebook.ids):
        model = model.with_themes(codebook.ids, coder_module.codebook_texts(codebook), embed=embedder.embed)
    answers = [a for a in (decisions.settled(per) for per in decisions.item_answers(store).values())
               if a is not None and a.get("text") and not a.get("not_evidence")]
    if answers:
        texts = [expand(a["text"], codebook) for a in answers]
        langs = [language_of(a["text"]) for a in answers]
        themes = [[codebook.canonical(t) for t in a["themes"]] for a in answers]
        kind_of = {(r["sha256"], r["item_key"]): r["kind"]
                   for r in docs.item_rows(store, sorted({a["sha256"] for a in answers}))}
        kinds = [kind_of.get((a["sha256"], a["item_key"])) for a in answers]
        model = model.refit(texts, langs, embedder.embed(texts), themes, kinds=kinds)
    return model


def expand(text: str, codebook: Codebook) -> str:
    names = getattr(codebook, "local_names", None) or []
    return coder_module.expand_local_names(text, names, language_of(text)) if names else text


# --- the review stage ---------------------------------------------------------------------

@dataclass
class CodingSummary:
    items: int = 0  # items in scope
    coded: int = 0  # items (re)coded this run
    skipped: int = 0  # unchanged since the last run
    codes: int = 0  # machine codes written this run
    uncoded: int = 0  # items in scope with no theme at all
    not_evidence: int = 0  # items the coder took for headings, table cells and the like
    embedded: int = 0  # texts embedded (not found in the cache)
    refitted_on: int = 0  # people's answers the review's model learnt from
    reports: int = 0
    llm_codes: int = 0
    llm_dropped_quotes: int = 0
    seconds: float = 0.0
    per_theme: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        extra = f", {self.llm_codes} by the language model" if self.llm_codes else ""
        learnt = f"; learnt from {self.refitted_on} reviewer answers" if self.refitted_on else ""
        return (f"{self.coded} items coded, {self.skipped} unchanged (skipped) of {self.items} in "
                f"{self.reports} reports — {self.codes} codes{extra}, {self.uncoded} items fit no theme, "
                f"{self.not_evidence} not evidence{learnt} — {self.seconds:.1f} s")


def _fingerprint(store: Store, codebook: Codebook) -> str:
    stamp = codes_store.code_decisions_stamp(store)
    decided = hashlib.sha1(repr(stamp).encode()).hexdigest()[:12]
    return f"{codebook.fingerprint()}:{CODER_VERSION}:{decided}"


def code(store: Store, codebook: Codebook, shas: Sequence[str], *, force: bool = False, llm: Any = None,
         batch: int = 512) -> CodingSummary:
    """Code the items of the reports `shas` to `codebook`. Only items not yet coded with this codebook,
    coder and set of people's decisions are coded (force=True redoes all). With a language model client
    (`llm`), its codes are a second engine; its quotes are kept only if they occur verbatim in the item."""
    start = time.perf_counter()
    summary = CodingSummary(reports=len(shas))
    fingerprint = _fingerprint(store, codebook)
    done = set() if force else codes_store.coded_keys(store, fingerprint)
    todo: list[dict[str, Any]] = []
    stale: list[tuple[str, str]] = []
    items_by_doc: dict[str, list[dict[str, Any]]] = {}
    for r in docs.item_rows(store, list(shas)):
        items_by_doc.setdefault(r["sha256"], []).append(r)
    for sha in shas:
        keys = set()
        for r in items_by_doc.get(sha, []):
            keys.add(r["item_key"])
            summary.items += 1
            if (sha, r["item_key"]) in done:
                summary.skipped += 1
            else:
                todo.append(r)
        # items that disappeared (the report was described again): drop their machine codes only
        stale += [(sha, k) for _, k in codes_store.coded_keys(store, sha256=sha) if k not in keys]
    if stale:
        codes_store.drop_codes(store, stale)
    if todo:
        embedder = Embedder(store)
        model = review_model(store, codebook, embedder)
        summary.refitted_on = int(model.info.get("refitted_on", 0))
        challenges = [t.id for t in codebook.themes if t.group == "challenges"]
        successes = [t.id for t in codebook.themes if t.group == "success_factors"]
        for i in range(0, len(todo), batch):
            chunk = todo[i:i + batch]
            _code_chunk(store, codebook, model, embedder, chunk, fingerprint, challenges, successes, summary, llm)
        summary.embedded = embedder.computed
    if shas:
        summary.uncoded = codes_store.count_uncoded(store, list(shas))
    summary.seconds = time.perf_counter() - start
    log.info("coding: %s", summary.line())
    return summary


def _code_chunk(store: Store, codebook: Codebook, model: CoderModel, embedder: Embedder, chunk: list[dict],
                fingerprint: str, challenges: list[str], successes: list[str], summary: CodingSummary,
                llm: Any) -> None:
    texts = [r["text"] for r in chunk]
    langs = [language_of(t) for t in texts]
    expanded = [expand(t, codebook) for t in texts]
    predictions = model.predict(expanded, langs, embedder.embed(expanded), challenges, successes,
                                kinds=[r["kind"] for r in chunk])
    rows_codes, rows_items = [], []
    for r, text, lang, p in zip(chunk, texts, langs, predictions, strict=True):
        sents = quote_sentences(text, lang)
        for theme, score in p.themes:
            quote = sents[int(np.argmax(model.sentence_scores(sents, lang, theme)))] if sents else None
            rows_codes.append({"sha256": r["sha256"], "item_key": r["item_key"], "theme": theme, "engine": ENGINE,
                               "score": round(score, 4), "keyword_score": None, "embedding_score": None,
                               "triggers": json.dumps(model.evidence_words(text, lang, theme), ensure_ascii=False),
                               "method": "model", "quote": quote, "codebook": codebook.name})
            summary.per_theme[theme] = summary.per_theme.get(theme, 0) + 1
        mixed = None
        if p.polarity == "mixed" and len(sents) > 1:
            per = model.predict(sents, [lang] * len(sents), embedder.embed(sents), kinds=[r["kind"]] * len(sents))
            mixed = json.dumps([{"sentence": s, "polarity": q.polarity} for s, q in zip(sents, per, strict=True)],
                               ensure_ascii=False)
        summary.not_evidence += p.not_evidence
        rows_items.append({"sha256": r["sha256"], "item_key": r["item_key"], "idx": r["idx"],
                           "fingerprint": fingerprint, "language": lang,
                           "best_score": round(max(p.scores.values(), default=0.0), 4), "polarity": p.polarity,
                           "polarity_score": round(p.polarity_score, 4), "not_evidence": int(p.not_evidence),
                           "uncertainty": round(p.uncertainty, 4), "sentences": mixed, "coded_at": time.time()})
    n_model = len(rows_codes)
    if llm is not None:
        from whatworks.llm import code_with_llm

        evidence = [(r["sha256"], r["item_key"], r["text"]) for r, p in zip(chunk, predictions, strict=True)
                    if not p.not_evidence]
        llm_rows, dropped = code_with_llm(llm, codebook, evidence)
        summary.llm_codes += len(llm_rows)
        summary.llm_dropped_quotes += dropped
        rows_codes += [{"sha256": sha, "item_key": key, "theme": theme, "engine": "llm", "score": 0.9,
                        "keyword_score": None, "embedding_score": None, "triggers": "[]", "method": "llm",
                        "quote": quote, "codebook": codebook.name} for sha, key, theme, quote in llm_rows]
    codes_store.save_codes(store, rows_items, rows_codes)
    summary.coded += len(chunk)
    summary.codes += n_model


# --- the codes the synthesis uses ---------------------------------------------------------------

@dataclass
class ItemCode:
    """One theme on one item, as the synthesis sees it (machine codes after people's decisions)."""

    sha256: str
    idx: int
    item_key: str
    kind: str
    text: str
    page: int | None
    section_kind: str | None
    theme: str
    score: float
    method: str
    triggers: list[str]
    quote: str | None
    human: str | None = None  # accept | add when a person decided
    polarity: str | None = None  # the item's: a person's answer, else the coder's
    uncertainty: float | None = None  # the coder's (0 sure … 1 a coin toss)
    polarity_score: float | None = None  # the coder's confidence in its polarity (None: a person's)


def effective_codes(store: Store, shas: Sequence[str] | None = None, visible: Sequence[str] | None = None,
                    aliases: Mapping[str, str] | None = None) -> list[ItemCode]:
    """The codes that stand for items of `shas`: a person's answer for an item replaces the
    machine's themes (what they kept is 'accept', what they added 'add'); other items keep the
    machine's. `visible`: only these people's decisions count (blind mode). `aliases` (a
    codebook's former theme id → current id) makes codes and decisions stored under a theme's
    old id count for the theme as it is named now."""
    current = (lambda theme: aliases.get(theme, theme)) if aliases else (lambda theme: theme)
    if shas is not None and not shas:
        return []
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for r in docs.item_rows(store, list(shas) if shas is not None else None):
        items.setdefault((r["sha256"], r["item_key"]), r)
    answers = decisions.item_answers(store, visible=visible)
    machine = codes_store.coded_item_rows(store, list(shas) if shas is not None else None)
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in codes_store.code_rows(store, list(shas) if shas is not None else None):  # offline before llm
        k = (r["sha256"], r["item_key"], current(r["theme"]))
        if k in best and (best[k]["quote"] or not r["quote"]):
            continue
        best[k] = r
    out: list[ItemCode] = []
    for k, r in best.items():
        item = items.get(k[:2])
        if item is None:
            continue
        answer = decisions.settled(answers.get(k[:2], {}))
        if answer is not None and (answer.get("not_evidence") or k[2] not in {current(t) for t in answer["themes"]}):
            continue
        m = machine.get(k[:2]) or {}
        out.append(ItemCode(k[0], item["idx"], k[1], item["kind"], item["text"], item["page"], item["section_kind"],
                            k[2], r["score"], r["method"], json.loads(r["triggers"] or "[]"), r["quote"],
                            "accept" if answer is not None else None,
                            (answer or {}).get("polarity") or m.get("polarity"),
                            None if answer is not None else m.get("uncertainty"),
                            None if answer is not None and answer.get("polarity") else m.get("polarity_score")))
    for key, per in answers.items():
        answer = decisions.settled(per)
        item = items.get(key)
        if answer is None or item is None or answer.get("not_evidence"):
            continue
        for theme in sorted({current(t) for t in answer["themes"]}):
            if (key[0], key[1], theme) not in best:
                out.append(ItemCode(key[0], item["idx"], key[1], item["kind"], item["text"], item["page"],
                                    item["section_kind"], theme, 1.0, "human", [],
                                    supporting_sentence(item["text"], []), "add",
                                    answer.get("polarity") or (machine.get(key) or {}).get("polarity")))
    out.sort(key=lambda c: (c.sha256, c.idx, -c.score, c.theme))
    return out


# --- agreement (machine vs reviewer, or two reviewers) ------------------------------------

@dataclass
class Agreement:
    precision: float
    recall: float
    f1: float
    kappa: float  # Cohen's kappa over every item × theme yes/no decision
    items: int
    decisions: int

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def agreement(expected: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]],
              themes: Iterable[str]) -> Agreement:
    """Precision, recall and Cohen's kappa of `predicted` against `expected` theme sets, over `themes`."""
    themes = set(themes)
    tp = fp = fn = tn = 0
    for exp, pred in zip(expected, predicted, strict=True):
        e, p = set(exp) & themes, set(pred) & themes
        tp += len(e & p)
        fp += len(p - e)
        fn += len(e - p)
        tn += len(themes) - len(e | p)
    n = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if n == 0:
        return Agreement(precision, recall, f1, 1.0, len(expected), 0)
    po = (tp + tn) / n
    pe = ((tp + fp) / n) * ((tp + fn) / n) + ((fn + tn) / n) * ((fp + tn) / n)
    kappa = (po - pe) / (1 - pe) if pe < 1 else 1.0
    return Agreement(precision, recall, f1, kappa, len(expected), n)


def item_results(store: Store, shas: Sequence[str], visible: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every item of `shas` with its polarity, evidence flag and themes as they stand (the lines of
    `whatworks code --json`, docs/code-json.md): a person's answer replaces the machine's."""
    if not shas:
        return []
    sources = {r["sha256"]: r["source"] for r in docs.document_rows(store, list(shas))}
    machine = codes_store.coded_item_rows(store, list(shas))
    by_item: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in codes_store.code_rows(store, list(shas)):
        by_item.setdefault((r["sha256"], r["item_key"]), []).append(r)
    answers = decisions.item_answers(store, visible=visible)
    out = []
    for r in docs.item_rows(store, list(shas)):
        key = (r["sha256"], r["item_key"])
        m = machine.get(key) or {}
        answer = decisions.settled(answers.get(key, {}))
        themes = [{"id": c["theme"], "score": round(float(c["score"]), 3), "engine": c["engine"], "decided_by": None}
                  for c in by_item.get(key, [])]
        polarity, not_evidence = m.get("polarity"), bool(m.get("not_evidence"))
        if answer is not None:
            chosen = set(answer["themes"])
            themes = [dict(t, decided_by=answer["reviewer"]) for t in themes if t["id"] in chosen]
            themes += [{"id": t, "score": 1.0, "engine": "human", "decided_by": answer["reviewer"]}
                       for t in sorted(chosen - {t["id"] for t in themes})]
            polarity = answer["polarity"] or polarity
            if answer["not_evidence"] is not None:
                not_evidence = answer["not_evidence"]
        if not_evidence:
            themes = []
        out.append({"sha256": r["sha256"], "source": sources.get(r["sha256"], ""), "idx": r["idx"],
                    "item_key": r["item_key"], "kind": r["kind"], "text": r["text"], "page": r["page"],
                    "section": r["section_kind"], "polarity": polarity,
                    "sentences": json.loads(m["sentences"]) if m.get("sentences") and polarity == "mixed" else None,
                    "not_evidence": not_evidence, "uncertainty": m.get("uncertainty"),
                    "decided_by": answer["reviewer"] if answer is not None else None, "themes": themes})
    return out
