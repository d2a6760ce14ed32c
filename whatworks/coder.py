"""The supervised coder: which themes an item supports, its polarity, and whether it is evidence.

A linear model over two kinds of features, both language-aware:

* lexical: TF-IDF of the item's stemmed words and word pairs (whatworks.text, Snowball in the
  item's language), so domain words and abbreviations count ("EI", "C102");
* spelling: TF-IDF of the folded words' 3- to 5-letter pieces, which the four languages share where
  their words do ("pension", "pensión", "pensão") and which survive typos and inflections the
  stemmer misses (ILO dev cross-validation, themes kappa 0.558 without them, 0.569 with them);
* meaning: the item's multilingual sentence embedding (USE multilingual v3), so a French item
  finds the theme an English one taught;
* form: a few measures of the item's shape (length, digits, how it ends), which tell a
  statement from a heading, a table cell or an addressee line in any language;
* kind: what the report calls the item (finding, recommendation, lesson learned, good practice…).
  It weighs most on polarity: a recommendation is advice (neutral), a good practice something that
  worked (ILO test split polarity 0.783 without it, 0.836 with it: benchmarks/coding_accuracy.py).

Themes are ridge regressions, one output per theme, solved together; a theme is coded when its
score passes its threshold (tuned by cross-validation when the model is trained). Polarity
(positive, negative, neutral, mixed) and not-evidence are logistic regressions on the same
features. The shipped models (whatworks/data/models/) are trained on the blind gold set's
development split (scripts/train_coder.py); a review refits the theme heads on its people's
decisions *around* the shipped weights (ridge with the shipped weights as its prior), so a few
decisions move the model without forgetting what it knew. The codebook's own words (label,
definition, descriptors, local names) are training examples too, weighted lightly: a theme with
few examples — or one a reviewer just added — still has a prior. Everything is deterministic.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from whatworks.text import fold, stem, words

log = logging.getLogger(__name__)

MODELS = Path(__file__).parent / "data" / "models"
POLARITIES = ("positive", "negative", "neutral", "mixed")
EMBEDDING_DIM = 512
FORM_DIM = 8
#: The item kinds the model knows; any other kind (or none) is all zeros in the kind block.
KINDS = ("finding", "conclusion", "recommendation", "lesson_learned", "good_practice")
#: How much the embedding block weighs against the (unit-length) lexical block.
EMBEDDING_WEIGHT = 1.0
#: How much the (unit-length) spelling block weighs against the lexical block, its n-gram sizes,
#: and how many documents an n-gram must be seen in to be kept.
CHAR_WEIGHT = 0.7
CHAR_NGRAMS = (3, 5)
CHAR_MIN_DF = 3
#: Ridge strength of the theme heads, and of a review's refit around the shipped weights.
THEME_ALPHA = 1.0
REFIT_ALPHA = 1.0
#: A theme whose score is within this of its threshold is a close call (the item's uncertainty).
UNSURE_MARGIN = 0.1
#: Weight of a codebook text (label, definition, descriptors) as a training example of its theme.
PRIOR_WEIGHT = 0.5


# --- features ---------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")


def form(text: str) -> np.ndarray:
    """The item's shape, language-free: is it long enough to be a statement, mostly numbers, a
    label ending in a colon, a parenthesised line, without a sentence's end?"""
    t = text.strip()
    n = len(words(t))
    letters = len(_LETTER.findall(t)) or 1
    return np.array([min(n, 40) / 40, float(n <= 4), float(n <= 10), min(len(_DIGIT.findall(t)) / letters, 1.0),
                     float(t.endswith(":")), float(t[:1] in "([" or t[-1:] in ")]"),
                     float(t[-1:] not in ".!?…»”\"'"), float(t.count(";") >= 2)], dtype=np.float32)


def analyze(text: str, language: str) -> list[str]:
    """Stems of the item's words in its language, and each pair of neighbouring stems."""
    stems = [stem(w, language) for w in words(text)]
    return stems + [f"{a}_{b}" for a, b in zip(stems, stems[1:], strict=False)]


@dataclass
class Features:
    """The model's inputs: a vocabulary with its IDF, how the embedding block is scaled, and how
    often each kind of item was seen (the kind block is centred on it, so an item whose kind is not
    known reads as an average item rather than as none of them)."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    emb_mean: np.ndarray
    emb_std: np.ndarray
    kind_mean: np.ndarray = field(default_factory=lambda: np.zeros(len(KINDS), dtype=np.float32))
    chars: dict[str, int] = field(default_factory=dict)
    char_idf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    @property
    def dim(self) -> int:
        return len(self.vocabulary) + len(self.chars) + EMBEDDING_DIM + FORM_DIM + len(KINDS)

    @classmethod
    def fit(cls, texts: Sequence[str], languages: Sequence[str], embeddings: np.ndarray,
            min_df: int = 2, kinds: Sequence[str | None] | None = None) -> Features:
        df: Counter[str] = Counter()
        for text, lang in zip(texts, languages, strict=True):
            df.update(set(analyze(text, lang)))
        terms = sorted(t for t, n in df.items() if n >= min_df)
        n = len(texts)
        idf = np.array([np.log((1 + n) / (1 + df[t])) + 1.0 for t in terms], dtype=np.float32)
        known = [k for k in kinds or () if k in KINDS]
        kind_mean = np.array([known.count(k) / len(known) if known else 0.0 for k in KINDS], dtype=np.float32)
        counter = _char_counter()
        cdf = np.asarray((counter.fit_transform(texts) > 0).sum(0)).ravel()
        grams = counter.vocabulary_
        keep = sorted((g for g, j in grams.items() if cdf[j] >= CHAR_MIN_DF), key=grams.get)
        char_idf = np.array([np.log((1 + n) / (1 + cdf[grams[g]])) + 1.0 for g in keep], dtype=np.float32)
        return cls({t: i for i, t in enumerate(terms)}, idf, embeddings.mean(0).astype(np.float32),
                   (embeddings.std(0) + 1e-6).astype(np.float32), kind_mean,
                   {g: i for i, g in enumerate(keep)}, char_idf)

    def lexical(self, texts: Sequence[str], languages: Sequence[str]) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for r, (text, lang) in enumerate(zip(texts, languages, strict=True)):
            counts = Counter(self.vocabulary[t] for t in analyze(text, lang) if t in self.vocabulary)
            if not counts:
                continue
            idx = np.fromiter(counts, dtype=np.int64)
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32))
            w = tf * self.idf[idx]
            w /= np.linalg.norm(w)
            rows += [r] * len(idx)
            cols += idx.tolist()
            vals += w.tolist()
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.vocabulary)), dtype=np.float32)

    def spelling(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The items' letter n-grams, TF-IDF weighted, unit length, scaled by CHAR_WEIGHT."""
        if not self.chars:
            return sp.csr_matrix((len(texts), 0), dtype=np.float32)
        X = _char_counter(self.chars).transform(texts).astype(np.float32).tocsr()
        X.data = (1.0 + np.log(X.data)) * self.char_idf[X.indices]
        norms = np.sqrt(np.asarray(X.multiply(X).sum(1)).ravel())
        norms[norms == 0] = 1.0
        return (sp.diags((CHAR_WEIGHT / norms).astype(np.float32)) @ X).tocsr()

    def meaning(self, embeddings: np.ndarray) -> np.ndarray:
        z = (embeddings - self.emb_mean) / self.emb_std
        return (z * (EMBEDDING_WEIGHT / np.sqrt(EMBEDDING_DIM))).astype(np.float32)

    def transform(self, texts: Sequence[str], languages: Sequence[str], embeddings: np.ndarray,
                  kinds: Sequence[str | None] | None = None) -> sp.csr_matrix:
        shape = np.vstack([form(t) for t in texts]) if len(texts) else np.zeros((0, FORM_DIM), np.float32)
        return sp.hstack([self.lexical(texts, languages), self.spelling(texts), sp.csr_matrix(self.meaning(embeddings)),
                          sp.csr_matrix(shape), sp.csr_matrix(self.kind_block(kinds, len(texts)))]).tocsr()

    def kind_block(self, kinds: Sequence[str | None] | None, n: int) -> np.ndarray:
        """One column per known item kind: 1 where the item is of that kind, less how often that
        kind was seen; all zeros for an item of unknown kind."""
        block = np.zeros((n, len(KINDS)), dtype=np.float32)
        for i, kind in enumerate(kinds or ()):
            if kind in KINDS:
                block[i, KINDS.index(kind)] = 1.0
                block[i] -= self.kind_mean
        return block


def _char_counter(vocabulary: dict[str, int] | None = None):
    """Counts of the folded words' letter n-grams (sklearn's, padded at word edges)."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, preprocessor=fold,
                           vocabulary=vocabulary, dtype=np.float32)


# --- heads ---------------------------------------------------------------------------------------

@dataclass
class Heads:
    """Linear outputs: scores = X @ W + b, one column per label."""

    labels: list[str]
    W: np.ndarray  # (dim, labels)
    b: np.ndarray  # (labels,)

    def scores(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.W) + self.b


def fit_ridge(X: sp.csr_matrix, Y: np.ndarray, alpha: float, weights: np.ndarray | None = None,
              prior: Heads | None = None, certainty: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multi-output ridge regression (W, b).

    With a `prior`, the solution nearest the prior's weights: ridge on what the prior gets wrong,
    added to it, with its intercepts kept (a few answers should move the themes they speak to,
    not every theme's baseline). `certainty` (per feature: how much the prior's training data
    said about it, the diagonal of its Gram matrix) makes a weight the prior knew well hard to
    move and one it hardly saw easy to move, as refitting on the prior's data plus the new
    answers would."""
    from sklearn.linear_model import Ridge

    target = Y.astype(np.float64)
    scale = None
    if prior is not None:
        target = target - prior.scores(X)
        if certainty is not None:
            scale = (1.0 / np.sqrt(1.0 + certainty)).astype(np.float32)
            X = X @ sp.diags(scale)
    model = Ridge(alpha=alpha, solver="sparse_cg", tol=1e-5, max_iter=2000, fit_intercept=prior is None)
    model.fit(X, target, sample_weight=weights)
    W = np.asarray(model.coef_, dtype=np.float32).reshape(Y.shape[1], -1).T
    b = np.atleast_1d(model.intercept_).astype(np.float32)
    if scale is not None:
        W = W * scale[:, None]
    if prior is not None:
        W, b = W + prior.W, b + prior.b
    return W, b


def gram_diagonal(X: sp.csr_matrix, weights: np.ndarray | None = None) -> np.ndarray:
    """Per feature, the (weighted) sum of its squares over the training items."""
    sq = X.multiply(X)
    if weights is not None:
        sq = sp.diags(weights) @ sq
    return np.asarray(sq.sum(0)).ravel().astype(np.float32)


def fit_logistic(X: sp.csr_matrix, y: Sequence[Any], C: float = 4.0, balanced: bool = True) -> Heads:
    """A (multinomial) logistic regression, as linear heads over its classes. `balanced` weighs
    the classes equally (for a rare class such as not-evidence); without it, the classes keep
    their share of the training data."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced" if balanced else None)
    model.fit(X, list(y))
    classes = [str(c) for c in model.classes_]
    W, b = model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32)
    if len(classes) == 2:  # one column for two classes: the second's log-odds
        W, b = np.hstack([-W / 2, W / 2]), np.array([-b[0] / 2, b[0] / 2], dtype=np.float32)
    return Heads(classes, W, b)


def softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# --- the model -----------------------------------------------------------------------------------

@dataclass
class Prediction:
    """What the coder says of one item."""

    themes: list[tuple[str, float]]  # (theme, score) of the themes coded, best first
    scores: dict[str, float]  # every theme's score
    polarity: str
    polarity_score: float
    not_evidence: bool
    uncertainty: float  # 0: sure of every call; 1: a coin toss (the queue serves the highest first)


@dataclass
class CoderModel:
    """A codebook's coder: features, theme heads and thresholds, polarity and evidence heads."""

    codebook: str
    features: Features
    themes: Heads
    thresholds: np.ndarray
    polarity: Heads
    evidence: Heads
    info: dict[str, Any] = field(default_factory=dict)
    certainty: np.ndarray | None = None  # per feature, what the training data said of it (fit_ridge)

    # --- predicting ----------------------------------------------------------------------------
    def predict(self, texts: Sequence[str], languages: Sequence[str], embeddings: np.ndarray,
                challenges: Sequence[str] = (), successes: Sequence[str] = (),
                kinds: Sequence[str | None] | None = None) -> list[Prediction]:
        """Themes, polarity and evidence for each item (of the given `kinds`, when known). A
        positive item takes no challenge theme, a negative one no success factor (polarity routes
        the "why")."""
        if not texts:
            return []
        X = self.features.transform(texts, languages, embeddings, kinds)
        S = self.themes.scores(X)
        pol = softmax(self.polarity.scores(X))
        ev = softmax(self.evidence.scores(X))
        not_ev_col = self.evidence.labels.index("True") if "True" in self.evidence.labels else 1
        out = []
        challenge, success = set(challenges), set(successes)
        for i in range(len(texts)):
            k = int(np.argmax(pol[i]))
            polarity = self.polarity.labels[k]
            not_evidence = bool(ev[i, not_ev_col] >= 0.5)
            margin = S[i] - self.thresholds
            picked = [j for j in np.argsort(-margin) if margin[j] >= 0]
            themes = []
            for j in picked:
                t = self.themes.labels[j]
                if (polarity == "positive" and t in challenge) or (polarity == "negative" and t in success):
                    continue
                themes.append((t, float(S[i, j])))
            if not_evidence:
                themes = []
            closest = float(np.min(np.abs(margin))) if len(margin) else 1.0
            uncertainty = float(np.clip(1.0 - closest / UNSURE_MARGIN, 0.0, 1.0))
            uncertainty = max(uncertainty, 1.0 - float(pol[i, k]), 1.0 - float(max(ev[i])))
            out.append(Prediction(themes, {t: float(S[i, j]) for j, t in enumerate(self.themes.labels)},
                                  polarity, float(pol[i, k]), not_evidence, uncertainty))
        return out

    def sentence_scores(self, sentences: Sequence[str], language: str, theme: str) -> np.ndarray:
        """How much each sentence alone speaks to `theme` (words only: cheap, for picking the quote)."""
        j = self.themes.labels.index(theme)
        X = self.features.lexical(sentences, [language] * len(sentences))
        return np.asarray(X @ self.themes.W[: len(self.features.vocabulary), j]).ravel()

    def evidence_words(self, text: str, language: str, theme: str, n: int = 4) -> list[str]:
        """The words of the item that push it most towards `theme` (shown beside a code)."""
        if theme not in self.themes.labels:
            return []
        j = self.themes.labels.index(theme)
        inverse = {i: t for t, i in self.features.vocabulary.items()}
        X = self.features.lexical([text], [language])
        contrib = X.multiply(self.themes.W[: len(self.features.vocabulary), j][None, :]).tocoo()
        best = sorted(zip(contrib.data, contrib.col, strict=True), reverse=True)[:n]
        return [inverse[c].replace("_", " ") for v, c in best if v > 0]

    # --- a review's own model --------------------------------------------------------------------
    def refit(self, texts: Sequence[str], languages: Sequence[str], embeddings: np.ndarray,
              themes: Sequence[Sequence[str]], alpha: float = REFIT_ALPHA,
              kinds: Sequence[str | None] | None = None) -> CoderModel:
        """The theme heads refitted on people's answers (each item's whole set of themes), around the
        shipped weights; new themes of the codebook learn from these answers alone."""
        if not texts:
            return self
        X = self.features.transform(texts, languages, embeddings, kinds)
        labels = list(self.themes.labels)
        Y = np.array([[t in set(ts) for t in labels] for ts in themes], dtype=np.float32)
        W, b = fit_ridge(X, Y, alpha, prior=self.themes, certainty=self.certainty)
        return CoderModel(self.codebook, self.features, Heads(labels, W, b), self.thresholds, self.polarity,
                          self.evidence, {**self.info, "refitted_on": len(texts)}, self.certainty)

    def with_themes(self, labels: Sequence[str], priors: dict[str, list[tuple[str, str]]],
                    embed: Any = None) -> CoderModel:
        """The model for a codebook whose themes differ from the shipped ones: shipped heads kept for
        the themes it knows, a prior from the codebook's own words for the others, themes it dropped
        left out. `embed(texts)` embeds the codebook texts."""
        known = {t: j for j, t in enumerate(self.themes.labels)}
        new = [t for t in labels if t not in known]
        W = np.zeros((self.features.dim, len(labels)), dtype=np.float32)
        b = np.zeros(len(labels), dtype=np.float32)
        thresholds = np.full(len(labels), float(np.median(self.thresholds)), dtype=np.float32)
        for k, t in enumerate(labels):
            if t in known:
                W[:, k], b[k], thresholds[k] = self.themes.W[:, known[t]], self.themes.b[known[t]], \
                    self.thresholds[known[t]]
        if new and embed is not None:  # the other themes' words are the new themes' counter-examples
            pairs = [(text, lang, t) for t in labels for text, lang in priors.get(t, [])]
            texts, langs, owners = [p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs]
            if texts:
                X = self.features.transform(texts, langs, embed(texts))
                Y = np.array([[o == t for t in new] for o in owners], dtype=np.float32)
                Wn, bn = fit_ridge(X, Y, THEME_ALPHA)
                for k, t in enumerate(new):
                    W[:, labels.index(t)], b[labels.index(t)] = Wn[:, k], bn[k]
        return CoderModel(self.codebook, self.features, Heads(list(labels), W, b), thresholds, self.polarity,
                          self.evidence, {**self.info, "themes_without_training": new}, self.certainty)

    # --- files --------------------------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        """One compressed .npz: arrays, and the vocabulary and labels as JSON."""
        meta = {"codebook": self.codebook, "vocabulary": sorted(self.features.vocabulary, key=self.features.vocabulary.get),
                "chars": sorted(self.features.chars, key=self.features.chars.get),
                "themes": self.themes.labels, "polarity": self.polarity.labels, "evidence": self.evidence.labels,
                "info": self.info}
        np.savez_compressed(
            path, meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
            idf=self.features.idf, emb_mean=self.features.emb_mean, emb_std=self.features.emb_std,
            kind_mean=self.features.kind_mean, char_idf=self.features.char_idf,
            theme_W=self.themes.W.astype(np.float16), theme_b=self.themes.b, thresholds=self.thresholds,
            polarity_W=self.polarity.W.astype(np.float16), polarity_b=self.polarity.b,
            evidence_W=self.evidence.W.astype(np.float16), evidence_b=self.evidence.b,
            **({"certainty": self.certainty} if self.certainty is not None else {}))
        return path

    @classmethod
    def load(cls, path: Path) -> CoderModel:
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            features = Features({t: i for i, t in enumerate(meta["vocabulary"])}, z["idf"], z["emb_mean"],
                                z["emb_std"], z["kind_mean"], {g: i for i, g in enumerate(meta.get("chars", []))},
                                z["char_idf"] if "char_idf" in z.files else np.zeros(0, dtype=np.float32))
            return cls(meta["codebook"], features,
                       Heads(meta["themes"], z["theme_W"].astype(np.float32), z["theme_b"]), z["thresholds"],
                       Heads(meta["polarity"], z["polarity_W"].astype(np.float32), z["polarity_b"]),
                       Heads(meta["evidence"], z["evidence_W"].astype(np.float32), z["evidence_b"]),
                       meta.get("info", {}), z["certainty"] if "certainty" in z.files else None)


_loaded: dict[str, CoderModel] = {}


def shipped(codebook: str) -> CoderModel | None:
    """The model shipped for a codebook name (None when there is none); loaded once per process."""
    path = MODELS / f"coder-{codebook}.npz"
    if codebook not in _loaded and path.exists():
        _loaded[codebook] = CoderModel.load(path)
    return _loaded.get(codebook)


def shipped_codebooks() -> list[str]:
    return sorted(p.stem.removeprefix("coder-") for p in MODELS.glob("coder-*.npz"))


def codebook_texts(codebook: Any) -> dict[str, list[tuple[str, str]]]:
    """Each theme's own words as training examples, (text, language) each: its label and
    definition, its descriptors in each language, and the local names that signal it."""
    out: dict[str, list[tuple[str, str]]] = {}
    for t in codebook.themes:
        texts = [(f"{t.label}. {t.definition}".strip(), "en")]
        for lang, terms in (getattr(t, "descriptors", None) or {}).items():
            if terms:
                texts.append((", ".join(str(x).replace("*", "").replace("~", " ") for x in terms), lang))
        out[t.id] = texts
    for name in getattr(codebook, "local_names", None) or []:
        for theme in getattr(name, "themes", None) or []:
            out.setdefault(theme, []).append((f"{name.name}: {name.means}", (name.languages or ["en"])[0]))
    return out


def expand_local_names(text: str, names: Sequence[Any], language: str) -> str:
    """The item with what each local name it uses means beside its first use ("EI claimants" →
    "EI (employment insurance) claimants"), so a programme's abbreviation carries its meaning to
    the model. Only the model reads this; the item itself is never changed."""
    import re

    for n in names:
        if not n.applies_to(language):
            continue
        pattern = rf"(?<![\w-]){re.escape(n.name)}(?![\w-])"
        if re.search(pattern, text):
            text = re.sub(pattern, lambda m, n=n: f"{m.group(0)} ({n.means})", text, count=1)
    return text


def train(codebook: Any, texts: Sequence[str], languages: Sequence[str], embeddings: np.ndarray,
          themes: Sequence[Sequence[str]], polarity: Sequence[str], not_evidence: Sequence[bool],
          thresholds: np.ndarray | None = None, embed: Any = None,
          more_evidence: tuple[Sequence[str], Sequence[str], np.ndarray, Sequence[bool],
                               Sequence[str | None]] | None = None,
          kinds: Sequence[str | None] | None = None) -> CoderModel:
    """Fit a codebook's coder on labelled items of the given `kinds` (and the codebook's own words
    as light examples). `more_evidence` (texts, languages, embeddings, not-evidence flags, kinds):
    items labelled for another codebook, which teach the evidence head too — what a heading or a
    table cell looks like does not depend on the codebook."""
    labels = list(codebook.ids)
    priors = codebook_texts(codebook)
    pairs = [(text, lang, t) for t in labels for text, lang in priors.get(t, [])]
    prior_texts, prior_langs, prior_owner = [p[0] for p in pairs], [p[1] for p in pairs], [p[2] for p in pairs]
    prior_emb = embed(prior_texts) if (embed is not None and prior_texts) else np.zeros((0, EMBEDDING_DIM))
    features = Features.fit(list(texts), list(languages), embeddings, kinds=kinds)
    X = features.transform(texts, languages, embeddings, kinds)
    Y = np.array([[t in set(ts) for t in labels] for ts in themes], dtype=np.float32)
    weights = np.ones(len(texts), dtype=np.float32)
    if prior_texts:
        Xp = features.transform(prior_texts, prior_langs, prior_emb)
        Yp = np.array([[o == t for t in labels] for o in prior_owner], dtype=np.float32)
        X, Y = sp.vstack([X, Xp]).tocsr(), np.vstack([Y, Yp])
        weights = np.concatenate([weights, np.full(len(prior_texts), PRIOR_WEIGHT, dtype=np.float32)])
    W, b = fit_ridge(X, Y, THEME_ALPHA, weights)
    certainty = gram_diagonal(X, weights) / THEME_ALPHA
    Xi = features.transform(texts, languages, embeddings, kinds)
    pol = fit_logistic(Xi, polarity, balanced=False)
    flags = [str(bool(x)) for x in not_evidence]
    if more_evidence is not None and len(more_evidence[0]):
        Xi = sp.vstack([Xi, features.transform(*more_evidence[:3], more_evidence[4])]).tocsr()
        flags += [str(bool(x)) for x in more_evidence[3]]
    ev = fit_logistic(Xi, flags)
    if thresholds is None:
        thresholds = np.full(len(labels), 0.25, dtype=np.float32)
    return CoderModel(codebook.name, features, Heads(labels, W, b), thresholds.astype(np.float32), pol, ev,
                      {"items": len(texts), "codebook_texts": len(prior_texts)}, certainty)
