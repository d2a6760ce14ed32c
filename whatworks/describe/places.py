"""Countries and regions named in a text, in English, French, Spanish and Portuguese.

The names come from whatworks/data/countries.json (ISO 3166, CLDR names in four languages and the
variants reports use: "Lao PDR", "RDC", "Moçambique") and whatworks/data/regions.yaml (ILO regions,
areas such as "Horn of Africa", and phrases that contain a country name without naming the country:
"Congo Basin"). All names go into one trie-shaped regular expression, so a 400,000-character report
is scanned once, and the longest name wins ("Guinea-Bissau" before "Guinea", "South Sudan" before
"Sudan"). Matching is case-sensitive — country names are proper nouns, and "chile" or "turkey" in
lower case are not countries — with an upper-case copy of each name for titles set in capitals.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from whatworks import vocab

#: The ILO's regions, in the order the ILO lists them.
ILO_REGIONS = ("Africa", "Americas", "Arab States", "Asia and the Pacific", "Europe and Central Asia",
               "Global/interregional")
GLOBAL = "Global/interregional"

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Mention:
    """A place named in a text: a country (`iso3`), an area or an ILO region (`area`)."""

    start: int
    end: int
    text: str
    iso3: str | None = None
    area: str | None = None  # key of regions.yaml areas, or an ILO region name


def _data(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def countries() -> dict[str, dict[str, Any]]:
    """ISO3 → the country's record (names, M49 region/sub-region, ILO region)."""
    return {c["iso3"]: c for c in json.loads(_data("countries.json"))["countries"]}


@lru_cache(maxsize=1)
def ilo_codes() -> dict[str, Any]:
    """Lookups for ILO TC project symbols (ilo_codes.yaml): scope codes and ILO country codes."""
    return yaml.safe_load(_data("ilo_codes.yaml"))


def trie_regex(words: list[str]) -> str:
    """One regular expression matching any of `words`, shaped as a trie (fast, longest first)."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if end else body

    return build(trie)


@lru_cache(maxsize=1)
def _matcher() -> tuple[re.Pattern[str], dict[str, tuple[str | None, str | None]]]:
    """The compiled pattern and a table from each matched string to (iso3, area)."""
    table: dict[str, tuple[str | None, str | None]] = {}

    def add(name: str, value: tuple[str | None, str | None]) -> None:
        for form in {name, name.upper()}:
            if len(form) < 3 and not form.isupper():
                continue
            table.setdefault(form, value)

    for iso3, c in countries().items():
        for names in c["names"].values():
            for name in names:
                add(name, (iso3, None))
        for name in c["variants"]:
            add(name, (iso3, None))
    for phrase in vocab.load("place_words").terms("not_country"):
        table[phrase] = (None, None)  # wins over the country inside it; names nothing
    for key, area in vocab.load("areas").items():
        for name in area.all():
            add(name, (None, key))
    for region, concept in vocab.load("regions").items():
        for name in concept.all():
            if name[:1].islower():  # "global", "worldwide": words, kept for scope, not places
                continue
            add(name, (None, region))
    words = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w’'-])" + trie_regex(words) + r"(?![\w’-]|'\w)")
    return pattern, table


@lru_cache(maxsize=1)
def _not_country_before() -> re.Pattern[str] | None:
    """"Embassy of " and the like, ending right before a country name."""
    phrases = vocab.load("place_words").terms("not_country_before")
    if not phrases:
        return None
    alt = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?:{alt})\s*$", re.IGNORECASE)


@lru_cache(maxsize=1)
def _subdivisions() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """A pattern for "<cue> <subdivision>" ("Estado de Zacatecas") and each name's country."""
    path = DATA / "subdivisions.json"
    if not path.exists():
        return None, {}
    country_of = {name: iso3 for iso3, names in json.loads(_data("subdivisions.json"))["subdivisions"].items()
                  for name in names}
    cues = vocab.load("place_words").terms("subdivision_cue") if "subdivision_cue" in vocab.load("place_words") \
        else []
    literal = [re.escape(c).replace(r"\ ", r"\s+") for c in cues if not c.startswith("re:")]
    regexes = [c[3:] for c in cues if c.startswith("re:")]
    if not (literal or regexes) or not country_of:
        return None, country_of
    cue = "|".join(sorted(literal, key=len, reverse=True) + regexes)
    names = trie_regex(sorted(country_of, key=len, reverse=True))
    # "Municipio de Teocelo, Veracruz": a town, then its state after a comma
    long_names = trie_regex(sorted((n for n in country_of if len(n) >= 6 and n[:1].isupper()),
                                   key=len, reverse=True))
    pattern = re.compile(rf"(?:(?i:(?<!\w)(?:{cue}))\s*(?P<name>{names})"
                         rf"|(?<=[a-záéíóúñãõç]),\s(?P<after>{long_names}))(?![\w’-])")
    return pattern, country_of


def find_places(text: str, offset: int = 0) -> list[Mention]:
    """Every country, area and region name in `text`, in order (positions shifted by `offset`).
    A country named as an embassy's ("the Embassy of Sweden") is left out: a donor's presence.
    A state or province named as one ("the State of Zacatecas") is a mention of its country."""
    pattern, table = _matcher()
    before = _not_country_before()
    out = []
    for m in pattern.finditer(text):
        iso3, area = table.get(m.group(0), (None, None))
        if iso3 is None and area is None:
            continue
        if iso3 and before is not None and before.search(text[max(0, m.start() - 40): m.start()]):
            continue
        out.append(Mention(m.start() + offset, m.end() + offset, m.group(0), iso3, area))
    sub, country_of = _subdivisions()
    if sub is not None:
        taken = {(m.start, m.end) for m in out}
        extra = []
        for m in sub.finditer(text):
            g = "name" if m.group("name") else "after"
            span = (m.start(g) + offset, m.end(g) + offset)
            if span not in taken:
                extra.append(Mention(span[0], span[1], m.group(g), country_of[m.group(g)]))
        if extra:
            out = sorted(out + extra, key=lambda x: x.start)
    return out


def find_countries(text: str) -> list[str]:
    """The ISO3 codes of the countries named in `text`, in order of first mention."""
    seen: dict[str, None] = {}
    for m in find_places(text):
        if m.iso3:
            seen.setdefault(m.iso3, None)
    return list(seen)


def ilo_region(iso3: str) -> str | None:
    c = countries().get(iso3)
    return c["ilo_region"] if c else None


def m49_names(iso3: str) -> list[str]:
    """The UN M49 region, sub-region and intermediate region of a country, broadest first."""
    c = countries().get(iso3)
    if not c:
        return []
    return [n for n in (c["m49_region"], c["m49_subregion"], c["m49_intermediate"]) if n]


def area_regions(area: str) -> tuple[list[str], list[str]]:
    """(ILO regions, M49 names) of an area key or ILO region name."""
    if area in ILO_REGIONS:
        m49 = {"Africa": ["Africa"], "Americas": ["Americas"], "Arab States": ["Asia", "Western Asia"],
               "Asia and the Pacific": ["Asia"], "Europe and Central Asia": ["Europe"]}.get(area, [])
        return [area], m49
    spec = vocab.load("areas").get(area)
    if not spec:
        return [], []
    return list(spec.get("ilo_regions", [])), list(spec.get("m49_regions", []))


def country_name(iso3: str) -> str:
    c = countries().get(iso3)
    return c["name"] if c else iso3


def resolve_country_code(code: str) -> str | None:
    """An ISO3 code for a three-letter code from a project symbol (ILO's own codes included)."""
    code = code.upper()
    ilo = ilo_codes().get("ilo_country_codes", {})
    if code in ilo:
        return ilo[code]
    return code if code in countries() else None
