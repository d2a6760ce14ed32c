"""Edits whatworks makes to the user's YAML files keep their comments and layout, and a backup."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from whatworks.codebook import add_theme, load_codebook, promote_candidate
from whatworks.errors import ProtocolError
from whatworks.protocol import load_protocol, parse_protocol
from whatworks.userfiles import edit_yaml, guess_indent, quoted_if_needed

SHIPPED = Path(__file__).parent.parent / "whatworks" / "data"

CODEBOOK = """\
# A codebook kept by hand.
name: tiny
questions:
  - id: why
    groups:
      - id: success_factors
        themes:
          - id: sf_one   # the first factor
            label: 'One'
            definition: The first factor.
            descriptors:
              en: [one, "first"]
          # the challenges come next
      - id: challenges
        themes:
          - id: ch_two
            label: Two
            definition: The second.
            descriptors: {en: [two], fr: [deux]}

# the end
"""


@pytest.fixture
def codebook(tmp_path: Path) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    return path


def added_lines(before: str, after: str) -> list[str]:
    """The lines of `after` that are not in `before`, checking every line of `before` is kept in order."""
    old = before.splitlines()
    out, i = [], 0
    for line in after.splitlines():
        if i < len(old) and line == old[i]:
            i += 1
        else:
            out.append(line)
    assert i == len(old), f"line {i + 1} of the original was lost: {old[i]!r}"
    return out


def test_add_theme_keeps_comments_quoting_and_a_backup(codebook: Path):
    theme_id = add_theme(codebook, label="Political will: strong", definition="Leaders  back the reform.",
                         question="why", group="success_factors", descriptors=["political will", "no", "a, b"])
    assert theme_id == "political_will_strong"
    after = codebook.read_text(encoding="utf-8")
    assert added_lines(CODEBOOK, after) == [
        "          - id: political_will_strong",
        '            label: "Political will: strong"',
        "            definition: Leaders back the reform.",
        "            descriptors:",
        '              en: [political will, "no", "a, b"]',
    ]
    # the new theme goes after sf_one and before the comment that introduces the next group
    assert after.index("political_will_strong") < after.index("# the challenges come next")
    assert (codebook.parent / "codebook.yaml.bak").read_text(encoding="utf-8") == CODEBOOK
    cb = load_codebook(codebook)
    assert cb.theme(theme_id).descriptors == {"en": ["political will", "no", "a, b"]}
    assert cb.theme(theme_id).group == "success_factors"


def test_ids_are_unique_and_the_backup_is_the_previous_version(codebook: Path):
    first = add_theme(codebook, label="Two", definition="Again.", question="why", group="challenges",
                      descriptors=["again"])
    version_1 = codebook.read_text(encoding="utf-8")
    second = add_theme(codebook, label="Two", definition="Once more.", question="why", group="challenges",
                       descriptors=["more"])
    assert (first, second) == ("two", "two_2")
    assert (codebook.parent / "codebook.yaml.bak").read_text(encoding="utf-8") == version_1


def test_a_refused_edit_leaves_the_file_alone(codebook: Path):
    with pytest.raises(ProtocolError, match="no group 'obstacles'"):
        add_theme(codebook, label="X", definition="Y.", question="why", group="obstacles", descriptors=["x"])
    with pytest.raises(ProtocolError, match="say which group"):
        add_theme(codebook, label="X", definition="Y.", question="why", descriptors=["x"])
    with pytest.raises(ProtocolError, match="'en' list"):  # the codebook's own check, before writing
        add_theme(codebook, label="X", definition="Y.", question="why", group="challenges", descriptors=[])
    with pytest.raises(ProtocolError, match="already taken"):
        add_theme(codebook, label="X", definition="Y.", question="why", group="challenges", descriptors=["x"],
                  theme_id="sf_one")
    assert codebook.read_text(encoding="utf-8") == CODEBOOK
    assert not (codebook.parent / "codebook.yaml.bak").exists()
    assert [p.name for p in codebook.parent.iterdir()] == ["codebook.yaml"]  # no temporary file left


def test_promote_candidate(codebook: Path):
    theme_id = promote_candidate(codebook, "Digital delivery", "Services delivered online.", "why",
                                 "success_factors", ["online portal", "", "~ bad", "digital", "digital"],
                                 candidate=7)
    after = codebook.read_text(encoding="utf-8")
    lines = added_lines(CODEBOOK, after)
    assert lines[0].strip().startswith("# promoted from emerging-theme candidate 7 on ")
    assert "en: [online portal, digital]" in lines[-1]
    assert load_codebook(codebook).theme(theme_id).label == "Digital delivery"


def test_shipped_codebooks_take_a_theme_without_other_changes(tmp_path: Path):
    for name in ("ilo-social-protection", "canada-social-security"):
        path = tmp_path / f"{name}.yaml"
        original = (SHIPPED / "codebooks" / f"{name}.yaml").read_text(encoding="utf-8")
        path.write_text(original, encoding="utf-8")
        for question, group in (("what_works", None), ("why", "challenges"), ("for_whom", "final_beneficiaries")):
            add_theme(path, label=f"New {question}", definition="A new theme.", question=question, group=group,
                      descriptors=["new"])
        assert len(added_lines(original, path.read_text(encoding="utf-8"))) == 15
        assert len(load_codebook(path).themes) == len(load_codebook(name).themes) + 3


def test_an_edit_rewraps_only_what_it_changes(tmp_path: Path):
    """A protocol's flow lists laid over several lines stay as the user wrapped them."""
    path = tmp_path / "protocol.yaml"
    original = (SHIPPED / "protocols" / "ilo-social-protection.yaml").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")

    def change(root):
        root["shortlist_min"] = 2
        root["queries"]["fr"].append('"filet social"')

    edit_yaml(path, change, check=parse_protocol)
    after = path.read_text(encoding="utf-8")
    old, new = original.splitlines(), after.splitlines()
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [
        ("  fr: ['\"protection sociale\"', '\"sécurité sociale\"', '\"exclusion sociale\"']",
         "  fr: ['\"protection sociale\"', '\"sécurité sociale\"', '\"exclusion sociale\"', '\"filet social\"']"),
        ("shortlist_min: 1", "shortlist_min: 2"),
    ]
    assert load_protocol(path).shortlist_min == 2


def test_line_ends_and_byte_order_mark_are_kept(tmp_path: Path):
    crlf = tmp_path / "crlf.yaml"
    crlf.write_bytes(b"# note\r\na: 1\r\nb: [x, y]\r\n")
    edit_yaml(crlf, lambda root: root.__setitem__("a", 2))
    assert crlf.read_bytes() == b"# note\r\na: 2\r\nb: [x, y]\r\n"
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfa: 1\n")
    edit_yaml(bom, lambda root: root.__setitem__("a", 2))
    assert bom.read_bytes() == b"\xef\xbb\xbfa: 2\n"


def test_simultaneous_edits_all_land(codebook: Path):
    errors: list[Exception] = []

    def add(n: int) -> None:
        try:
            add_theme(codebook, label=f"Factor {n}", definition="A factor.", question="why",
                      group="success_factors", descriptors=[f"factor {n}"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {f"factor_{n}" for n in range(6)} <= set(load_codebook(codebook).ids)


@pytest.mark.parametrize("text, quoted", [
    ("social dialogue", False), ("pension*", False), ("lack ~ data", False), ("é", False),
    ("no", True), ("on", True), ("true", True), ("12", True), ("a: b", True), ("x, y", True), ("#tag", True),
    ("[x]", True), ("null", True), ("", True), (" padded", True),
])
def test_quoting_only_when_yaml_would_misread(text: str, quoted: bool):
    assert (type(quoted_if_needed(text)) is not str) == quoted


def test_guess_indent():
    assert guess_indent(CODEBOOK) == (2, 4, 2)
    assert guess_indent("a:\n    b: 1\nc:\n- x\n") == (4, 2, 0)


def test_a_file_read_again_is_parsed_once_and_an_edit_is_seen(codebook: Path):
    first, again = load_codebook(codebook), load_codebook(codebook)
    assert first is not again and first == again  # a copy: a caller's change stays its own
    first.themes.clear()
    assert load_codebook(codebook).ids == ["sf_one", "ch_two"]
    add_theme(codebook, label="Three", definition="A third.", question="why", group="challenges",
              descriptors=["three"])
    assert load_codebook(codebook).ids == ["sf_one", "ch_two", "three"]


def test_the_workspace_adds_a_theme_through_the_round_trip(codebook: Path, tmp_path: Path):
    import shutil

    from whatworks.api import Review
    from whatworks.errors import NotFound
    from whatworks.team import local_user

    review = Review.create(tmp_path / "review")
    shutil.copyfile(codebook, review.project.codebook_path)
    theme_id = review.add_theme("Trust", "People trust the scheme.", "why", ["trust"], local_user(),
                                group="success_factors")
    assert theme_id == "trust"
    after = review.project.codebook_path.read_text(encoding="utf-8")
    assert "# the challenges come next" in after and "          - id: sf_one   # the first factor" in after
    assert (review.project.codebook_path.parent / "codebook.yaml.bak").read_text(encoding="utf-8") == CODEBOOK
    assert "trust" in review.codebook.ids  # the review reads the edited file
    with pytest.raises((ValueError, NotFound), match="no question 'how'"):
        review.add_theme("X", "Y.", "how", ["x"], local_user())
    assert any(a["action"] == "theme" for a in review.audit())
    review.close()
