"""Render the shipped codebooks as Markdown for human coders: questions, groups, themes with their
labels and definitions, and no descriptor lists (a blind labeller must not see the machine's rules)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def render(path: Path) -> str:
    cb = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = [f"# Codebook `{cb['name']}`", "", cb.get("title", ""), "",
           "Theme ids are what a coder writes. Read the definitions; the coding guidelines "
           "([../coding-guidelines.md](../coding-guidelines.md)) say how to apply them.", ""]
    for q in cb["questions"]:
        out += [f"## {q['label']} ({q.get('ask', '')})", ""]
        groups = q.get("groups") or [{"label": None, "themes": q["themes"]}]
        for g in groups:
            if g.get("label"):
                out += [f"### {g['label']}", "", g.get("description", ""), ""]
            out += ["| id | theme | definition |", "|---|---|---|"]
            out += [f"| `{t['id']}` | {t['label']} | {t.get('definition', '')} |" for t in g["themes"]]
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    for p in sorted((ROOT / "whatworks/data/codebooks").glob("*.yaml")):
        (ROOT / "docs/codebooks" / f"{p.stem}.md").write_text(render(p), encoding="utf-8")
        print("wrote", p.stem)
