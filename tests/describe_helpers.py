"""Shared by test_kind.py and test_metadata.py: the labelled corpus subset (or the unseen fixtures), read once
per process."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from whatworks.model import Block, Document, Page

LABELS = Path(__file__).parent / "labels" / "documents.yaml"
EXAMPLES = Path(__file__).resolve().parent.parent / "whatworks" / "data" / "examples"

#: A fast, varied subset of the labelled corpus: every kind there is, no 100-page PDFs.
SUBSET = [
    "iom/49d2fba781b6a7c0d94577479636ee6f/Abridged Evaluation Report_ Final_Olta NDOJA.pdf",
    "iom/49d2fba781b6a7c0d94577479636ee6f/Evaluation Learning Brief_Final_Olta NDOJA.pdf",
    "iom/49d2fba781b6a7c0d94577479636ee6f/HoA EU JI Final Eval - Management Response Matrix - Final.pdf",
    "iom/49d2fba781b6a7c0d94577479636ee6f/ISP_IOM_Case-Management-Return-Reintegr-JI-Review_final.pdf",
    "iom/6c3c2cf3fa479112967612b0baddab72/AAP_EN_Evaluation Brief_final_0.pdf",
    "iom/6c3c2cf3fa479112967612b0baddab72/AAP Evaluation - Management Response Final.docx",
    "iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Evaluation Brief_Javier SANCHEZ MARTI.pdf",
    "iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Evaluation ToR_Javier SANCHEZ MARTI.pdf",
    "iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Inception Report_Javier SANCHEZ MARTI.pdf",
    "iom/8faad6edb0414cfc8f35415a93726e36/CS1137-CS1138_Management Response Plan_Javier SANCHEZ MARTI.pdf",
    "eba/eba_application_200413.pdf",
    "canada/cra_006_Evaluation – Canada Revenue Agency (CRA) Management of Small Business Nudge - Canada.ca.html",
    "canada/cra_048_2016 External Assessment of the CRA Internal Audit Function - Canada Revenue Agency (CRA) "
    "Audit, Evaluation, and Risk Branch - Canada.ca.html",
    "canada/cra_149_Formative Evaluation of the Charities Partnership and Outreach Program - Canada.ca.html",
    "canada/cra_171_Review of Impacts of the Government's Secure Channel on CRA Program Delivery - Canada.ca.html",
    "canada/cra_189_Regional Audit of Assessment and Client Services Tax Centre Program Performance Management"
    " - Canada.ca.html",
    "canada/esdc_029_Departmental Evaluation Plan 2022 to 2027 - Canada.ca.html",
    "canada/hc_045_Evaluation at a glance_ Horizontal evaluation of the Federal Contaminated Sites Action Plan"
    " - Canada.ca.html",
    "canada/hc_124_First Nations BC Tripartite Contribution Agreements - Evaluation 2007-08 to 2011-12"
    " - Canada.ca.html",
    "canada/nrc_010_Joint Audit and Evaluation of the Impact Canada Initiative – Clean Technology Stream.html",
    "idrc/LVIF_PCRs/Rapport de fin de projet 108517.md",
    "idrc/PCRs 2022-2023/PCR 108458 Stage 3.md",
    "idrc/PCRs 2022-2023/Project Completion Report_109220.md",
]
#: Documents of the blind labels' final test split are not asserted case by case: a test that names
#: them would steer the rules toward them (benchmarks/describe_unseen.py --split test scores them).
TEST_SPLIT = set(yaml.safe_load((Path(__file__).parent / "labels" / "describe_split.yaml")
                                .read_text(encoding="utf-8"))["test"])
SUBSET = [rel for rel in SUBSET if rel not in TEST_SPLIT]


@cache
def load_labels() -> dict[str, dict]:
    return yaml.safe_load(LABELS.read_text(encoding="utf-8"))["documents"]


@cache
def read_subset(corpus: Path) -> dict[str, Document]:
    """The subset, read once per test process (the kind and metadata tests share it)."""
    from whatworks.read import read_document

    return {rel: read_document(corpus / rel) for rel in SUBSET}


@cache
def read_unseen() -> dict[str, Document]:
    """The unseen fixtures (tests/fixtures/unseen), read once per test process: file name → Document."""
    from project_fixtures import unseen

    from whatworks.read import read_document

    return {p.name: read_document(p) for p in unseen()}


def doc(*pages: list[tuple[str, str]], source: str = "report.pdf", title: str | None = None) -> Document:
    """A small Document: each page a list of (block kind, text)."""
    return Document(
        source=source, sha256="0", format="pdf",
        pages=[Page(i + 1, [Block(k, t, i + 1, level=1 if k == "heading" else None) for k, t in p])
               for i, p in enumerate(pages)],
        title=title,
    )
