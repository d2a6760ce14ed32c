"""The sentence encoder gives the same vectors whether it runs here or in worker processes."""

import numpy as np

from whatworks import embedding


def test_parallel_encoding_matches_serial(monkeypatch):
    texts = [f"Item {i}: the social security institution registered {i} new claimants." for i in range(12)]
    serial = embedding._encode(texts)
    monkeypatch.setattr(embedding, "PARALLEL_FROM", 4)
    monkeypatch.setattr(embedding.os, "cpu_count", lambda: 2)
    parallel = embedding._encode_all(texts)
    assert parallel.shape == (12, 512)
    assert np.allclose(serial, parallel, atol=1e-5)
    assert not np.allclose(parallel[0], parallel[5])  # different texts, different vectors


def test_embedder_caches_in_the_store(tmp_path):
    from whatworks.store import open_store

    store = open_store(tmp_path / "r.db")
    first = embedding.Embedder(store)
    a = first.embed(["Tripartite dialogue drove the results.", "Coverage stayed low."])
    second = embedding.Embedder(store)
    b = second.embed(["Coverage stayed low."])
    assert (first.computed, second.computed, second.cached) == (2, 0, 1)
    assert np.allclose(a[1], b[0])
    store.close()
