"""The command line: the same functions as the library, speaking plainly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from whatworks.cli import main

REPORT = """# Évaluation finale indépendante du projet de protection sociale

## Résumé exécutif

Le projet a étendu la couverture de la sécurité sociale aux travailleurs domestiques au Sénégal.

## Recommandations

1. Le BIT devrait poursuivre son appui à la caisse de sécurité sociale.
2. Les mandants devraient adopter la stratégie nationale de protection sociale.
"""


def test_inspect_json_schema(tmp_path: Path, capsys):
    path = tmp_path / "rapport.md"
    path.write_text(REPORT, encoding="utf-8")
    assert main(["inspect", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("source", "sha256", "format", "pages", "language", "kind", "metadata", "sections", "items"):
        assert key in data, key
    assert data["format"] == "markdown" and data["language"] == "fr" and data["pages"] == 1
    assert len(data["sha256"]) == 64
    for section in data["sections"]:
        assert set(section) >= {"kind", "heading", "page_start", "page_end"}
    for item in data["items"]:
        assert set(item) >= {"kind", "text", "page", "section_index"}
    for value in data["metadata"].values():
        assert set(value) == {"value", "confidence", "evidence"}


def test_inspect_bad_file_says_what_to_do(tmp_path: Path, capsys):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert "empty.pdf" in err and "empty" in err


def test_read_prints_summary_and_outline(tmp_path: Path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "a.md").write_text(REPORT, encoding="utf-8")
    (tmp_path / "r" / "junk.pdf").write_bytes(b"%PDF-1.4\n garbage")
    db = tmp_path / "w.db"
    out = subprocess.run([sys.executable, "-m", "whatworks.cli", "-q", "read", str(tmp_path / "r"), "--db", str(db),
                          "--outline", "-j", "1"], capture_output=True, text=True, check=True).stdout
    assert "1 read, 0 unchanged (skipped), 1 failed" in out
    assert "junk.pdf" in out and "what to do:" in out
    assert "Recommandations" in out


def test_a_mistyped_command_gets_a_usage_message_not_a_traceback(capsys):
    assert main(["synthesise", "somewhere"]) == 2
    err = capsys.readouterr().err
    assert "No such command 'synthesise'" in err and "Traceback" not in err
    assert main(["review", "--bogus"]) == 2
    assert "No such option: --bogus" in capsys.readouterr().err
