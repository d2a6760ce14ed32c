"""Document kind: real corpus documents against the hand labels, and small fixtures in FR/ES/PT."""

from __future__ import annotations

from pathlib import Path

import pytest
from describe_helpers import EXAMPLES, SUBSET, doc, load_labels, read_subset
from project_fixtures import UNSEEN, corpus_params

from whatworks.describe.kind import KINDS, classify, explain
from whatworks.model import Document


@pytest.fixture(scope="session")
def labels() -> dict[str, dict]:
    return load_labels()


@pytest.fixture(scope="session")
def corpus_docs(corpus: Path) -> dict[str, Document]:
    return read_subset(corpus)


def test_labels_cover_every_corpus_document(corpus: Path, labels: dict[str, dict]) -> None:
    """Every document of the corpus has labels (the blind ones of the Mexican reports apart); the
    i-eval export is a database, not a document (whatworks imports it as records)."""
    import yaml

    mexico = yaml.safe_load((Path(__file__).parent / "labels" / "describe_mexico.yaml").read_text("utf-8"))
    known = set(labels) | set(mexico["documents"])
    files = {str(p.relative_to(corpus)) for p in corpus.rglob("*")
             if p.is_file() and p.suffix not in (".jsonl", ".xlsx")}
    assert files <= known, sorted(files - known)[:5]
    assert all(v["kind"] in KINDS for v in [*labels.values(), *mexico["documents"].values()])


@pytest.mark.parametrize("rel", corpus_params(SUBSET, "the kind of each labelled corpus document "
                                                       "(test_describe_unseen.py checks the unseen fixtures)"))
def test_kind_of_corpus_documents(rel: str, corpus_docs: dict[str, Document], labels: dict[str, dict]) -> None:
    kind = classify(corpus_docs[rel], [], [])
    assert kind.value == labels[rel]["kind"], explain(corpus_docs[rel])[:3]
    assert 0.5 <= kind.confidence <= 1
    assert kind.evidence is not None and kind.evidence.text.strip()


def test_explain_lists_the_rules_behind_the_decision() -> None:
    """A French terms of reference: the rule that names it first. (The IOM documents, which the
    corpus branch once read, are in the blind labels' test split.)"""
    from whatworks.read import read_document

    hits, words = explain(read_document(UNSEEN / "tdr_fr_mi_parcours_niger.docx")), ("termes de référence",)
    assert hits[0].kind == "terms_of_reference"
    assert any(w in hits[0].rule.lower() for w in words), hits[0].rule
    assert all(h.to_dict()["kind"] in KINDS for h in hits)


@pytest.mark.parametrize("title,body,expected", [
    ("Términos de referencia", "El consultor deberá entregar los productos esperados. Perfil del consultor: "
     "experiencia en evaluación.", "terms_of_reference"),
    ("Termos de referência para a avaliação final", "O consultor entregará os produtos esperados. "
     "Perfil do consultor.", "terms_of_reference"),
    ("Rapport de démarrage", "Matrice d'évaluation, analyse de l'évaluabilité et chronogramme de la mission.",
     "inception_report"),
    ("Réponse de la direction", "Recommandation 1 : acceptée. Recommandation 2 : partiellement acceptée. "
     "Recommandation 3 : acceptée.", "management_response"),
    ("Respuesta de la gerencia a la evaluación final", "Recomendación 1: aceptada. Recomendación 2: aceptada. "
     "Recomendación 3: parcialmente aceptada.", "management_response"),
    ("Resumo da avaliação", "Este resumo apresenta as principais constatações. Mais detalhes no relatório de "
     "avaliação completo.", "evaluation_brief"),
    ("Informe final de evaluación", "Hallazgos. Lecciones aprendidas. Buenas prácticas. Recomendaciones.",
     "evaluation_report"),
    ("Audit of Procurement Practices", "Audit objective and audit criteria. The audit found weaknesses.",
     "audit"),
    ("Departmental Evaluation Plan 2024 to 2029", "Planned evaluations and evaluation coverage.",
     "evaluation_plan"),
    ("Project Completion Report", "Project Highlights. Research Outputs. Director comments.",
     "completion_report"),
])
def test_kind_from_title_and_phrases_in_four_languages(title, body, expected) -> None:
    d = doc([("heading", title), ("paragraph", body)], title=title)
    assert classify(d, [], []).value == expected


def test_a_page_with_nothing_to_say_is_other() -> None:
    d = doc([("paragraph", "Lorem ipsum dolor sit amet.")], source="x.txt")
    kind = classify(d, [], [])
    assert kind.value == "other" and kind.confidence < 0.5


def test_ilo_template_examples(tmp_path: Path) -> None:
    """The example reports in the ILO template (EN/FR/ES/PT, Markdown and DOCX)."""
    from whatworks.read import read_document

    files = sorted(p for p in EXAMPLES.glob("*") if p.suffix in (".md", ".docx"))
    if not files:
        pytest.skip("no example reports in whatworks/data/examples")
    for path in files:
        expected = "terms_of_reference" if "terms_of_reference" in path.name else "evaluation_report"
        assert classify(read_document(path), [], []).value == expected, path.name
