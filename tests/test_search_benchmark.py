"""benchmarks/search_speed.py at its smallest: it builds a review the current store accepts and
searches it through the API, the command and the workspace, which agree (the benchmark once
called a store class that no longer existed, and nothing noticed)."""

from __future__ import annotations

from pathlib import Path

from bench_helpers import benchmark

from whatworks import search as S
from whatworks.api import Review

ROOT = Path(__file__).resolve().parent.parent

SENTENCES = [
    ("en", "The evaluation found that social protection coverage grew among informal workers."),
    ("en", "Recommendations call for better data on the take-up of employment insurance benefits."),
    ("fr", "Les recommandations portent sur le financement durable des programmes de pensions."),
    ("es", "La evaluación formula recomendaciones para ampliar la cobertura de la seguridad social."),
    ("pt", "A avaliação recomenda reforçar a proteção social e a segurança social."),
]


def test_smallest_search_benchmark_runs(tmp_path: Path, capsys) -> None:
    bench = benchmark("search_speed")
    root = tmp_path / "review"
    pool = [(lang, s, S.stem_text(s, lang)) for lang, s in SENTENCES]
    with Review.create(root) as review:
        bench.build(review, 30, 5, pool)
        figures = bench.measure("query", bench.via_api(review), rounds=1)
        api_hits = bench.via_api(review)("social protection", {"year": "2005-2023"})
    assert figures["n"] == len(bench.QUERIES)
    assert 0 < api_hits <= 20
    assert bench.via_cli(root)("social protection", {"year": "2005-2023"}) == api_hits

    from fastapi.testclient import TestClient

    from whatworks.web.app import create_app

    with TestClient(create_app(root), base_url="http://127.0.0.1") as client:
        assert bench.via_web(client)("social protection", {"year": "2005-2023"}) >= api_hits
    assert "built 30 documents" in capsys.readouterr().out
