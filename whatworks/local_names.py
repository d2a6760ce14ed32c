"""Local programme names and abbreviations a review's reports use (EI, OAS, SPF, INSS…).

Reports name programmes by their local names and acronyms more often than by the words a
codebook's descriptors use; a protocol or codebook declares them once (``local_names:``) so
the screen and the coder can read "EI" as "employment insurance". The same abbreviation may
mean different things in different languages (French "AE" is assurance-emploi), so a name is
declared once per language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

from whatworks.validation import LineOf, Problem, Strict, Text, one_of

#: The languages of the descriptors, codebooks and protocols' term sets.
LANGUAGES = ("en", "fr", "es", "pt")


@dataclass
class LocalName:
    name: str  # as reports write it: "EI", "CPP-D", "Bolsa Família"
    means: str  # what it stands for, in words a descriptor would use
    themes: list[str] = field(default_factory=list)  # codebook themes it signals (current ids)
    languages: list[str] = field(default_factory=list)  # empty: any language

    def applies_to(self, language: str | None) -> bool:
        return not self.languages or language is None or language in self.languages


class LocalNameEntry(Strict):
    """A ``local_names:`` entry as the user writes it."""

    name: Text = Field(description="the name or abbreviation as reports write it, e.g. EI")
    means: Text = Field(description="what it stands for, e.g. employment insurance")
    languages: Annotated[list[one_of(LANGUAGES)], Field(min_length=1)] | None = Field(
        None, description=f"the languages it is used in ({', '.join(LANGUAGES)}); omit for any")


def duplicate_names(entries: Sequence[LocalNameEntry], loc: tuple, line_of: LineOf) -> list[Problem]:
    """A name declared twice for the same language is an error naming both entries."""
    problems: list[Problem] = []
    seen: dict[str, list[tuple[int, set[str]]]] = {}
    for i, entry in enumerate(entries):
        langs = set(entry.languages or LANGUAGES)
        key = entry.name.casefold()
        for j, other in seen.get(key, []):
            shared = langs & other
            if shared:
                problems.append(Problem((*loc, i, "name"), f"the local name '{entry.name}' is declared twice for "
                                        f"{', '.join(sorted(shared))} (first on line {line_of((*loc, j))}) — "
                                        "keep one, or give each its `languages:`"))
                break
        seen.setdefault(key, []).append((i, langs))
    return problems


def lookup(names: Sequence[LocalName], name: str, language: str | None = None) -> LocalName | None:
    """The declaration of `name` (any case) for `language`, if any."""
    key = name.casefold()
    return next((n for n in names if n.name.casefold() == key and n.applies_to(language)), None)
