"""vocab: the vocabulary files under whatworks/data/, in one shape, read by one loader.

Every vocabulary file maps each concept to languages, then terms::

    # what the file is for
    concept_id:
      en: [phrase, phrase]
      fr: [...]
      es: [...]
      pt: [...]

A language is an ISO 639-1 code (two letters); `any` holds terms that are the same in every
language (names, acronyms, codes, "re:" regular expressions). A concept that needs settings
adds keys from `SETTINGS` (a weight, a number, a link to another concept or a region). A
file that breaks the shape fails at load with a `VocabError` naming the file and the
concept, so a contributor's typo stops the run at once instead of silently matching nothing.

Adding a language is adding its terms under its code: no code changes (docs/contributing.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from whatworks.errors import WhatworksError

DATA = Path(__file__).resolve().parent / "data"

#: The non-language keys a concept may have, with their type and what they are for.
SETTINGS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "title_weight": ((int, float), "points a document kind's phrase earns in a title (kinds)"),
    "body_weight": ((int, float), "points a document kind's phrase earns in the body (kinds)"),
    "number": (int, "the number a term stands for (months: 1-12)"),
    "short": (list, "abbreviations used with a number, in every language (item markers: R1, LL2)"),
    "kinds": (list, "concept ids of another file this concept may keep (annex words → section kinds)"),
    "home": (str, "ISO3 country of an organisation (organisations)"),
    "donor_country": (str, "ISO3 country whose aid an organisation is (organisations)"),
    "codes": (list, "codes in other lists that name this concept (donors: ILO donor codes)"),
    "ilo_regions": (list, "the ILO regions an area lies in (areas)"),
    "m49_regions": (list, "the UN M49 regions and sub-regions an area lies in (areas)"),
    "template": (str, "the template a field belongs to (template fields)"),
    "field": (str, "the field's name within its template (template fields)"),
}
#: Files under whatworks/data/ that are lookups or messages, not vocabulary (read as plain YAML).
NOT_VOCABULARY = ("ilo_codes", "screen_labels")
ANY = "any"
_LANGUAGE = re.compile(r"^[a-z]{2}$")


class VocabError(WhatworksError):
    """A vocabulary file that breaks the shape; the message names the file and the concept."""


@dataclass(frozen=True)
class Concept:
    """One concept: its terms per language and its settings."""

    id: str
    terms: Mapping[str, tuple[str, ...]]
    settings: Mapping[str, Any] = field(default_factory=dict)

    def all(self) -> list[str]:
        """Every term, in every language, in file order, without repeats."""
        return list(dict.fromkeys(t for terms in self.terms.values() for t in terms))

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


class Vocabulary(Mapping[str, Concept]):
    """A vocabulary file: concept id → Concept, in file order."""

    def __init__(self, name: str, concepts: dict[str, Concept]):
        self.name = name
        self._concepts = concepts

    def __getitem__(self, key: str) -> Concept:
        return self._concepts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._concepts)

    def __len__(self) -> int:
        return len(self._concepts)

    def terms(self, concept: str) -> list[str]:
        """Every term of `concept` ([] when the file has no such concept)."""
        c = self._concepts.get(concept)
        return c.all() if c else []

    def languages(self) -> set[str]:
        return {lang for c in self._concepts.values() for lang in c.terms}


def parse(raw: Any, name: str) -> Vocabulary:
    """Check `raw` (a loaded file) against the shape and build its Vocabulary."""
    where = f"whatworks/data/{name}.yaml"
    if not isinstance(raw, dict) or not raw:
        raise VocabError(f"{where}: must map concept ids to languages (en: [...], fr: [...])")
    concepts: dict[str, Concept] = {}
    for cid, spec in raw.items():
        if not isinstance(cid, str) or not isinstance(spec, dict) or not spec:
            raise VocabError(f"{where}, concept {cid!r}: must map languages to lists of terms")
        terms: dict[str, tuple[str, ...]] = {}
        settings: dict[str, Any] = {}
        for key, value in spec.items():
            if key in SETTINGS:
                kind = SETTINGS[key][0]
                if not isinstance(value, kind) or isinstance(value, bool):
                    raise VocabError(f"{where}, concept {cid!r}: setting {key!r} must be "
                                     f"{_type_name(kind)}, not {value!r}")
                settings[key] = value
            elif isinstance(key, str) and (key == ANY or _LANGUAGE.match(key)):
                if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
                    raise VocabError(f"{where}, concept {cid!r}, language {key!r}: must be a list of "
                                     "non-empty terms")
                terms[key] = tuple(value)
            else:
                raise VocabError(f"{where}, concept {cid!r}: unknown key {key!r}; use a two-letter "
                                 f"language code, {ANY!r}, or one of {', '.join(SETTINGS)}")
        if not terms and not settings:
            raise VocabError(f"{where}, concept {cid!r}: no terms")
        concepts[cid] = Concept(cid, terms, settings)
    return Vocabulary(name, concepts)


def _type_name(kind: type | tuple[type, ...]) -> str:
    first = kind[0] if isinstance(kind, tuple) else kind
    return {"int": "a number", "float": "a number", "list": "a list", "str": "a text"}[first.__name__]


@cache
def load(name: str) -> Vocabulary:
    """The vocabulary file whatworks/data/`name`.yaml, checked (read once per process)."""
    path = DATA / f"{name}.yaml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader: read on every run
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as e:
        raise VocabError(f"whatworks/data/{name}.yaml: {e}") from None
    return parse(raw, name)
