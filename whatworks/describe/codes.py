"""Project codes: ILO technical-cooperation symbols (RAF/13/04/IRL) and IOM project codes (CS1137).

An ILO TC symbol is SCOPE/YY/NN/DONOR: the scope is a region (RAF, RAS, RLA, RER, RAB), global
(GLO), interregional (INT) or a country (ILO's own three-letter code, mostly ISO 3166 alpha-3);
YY is the start year; NN the project number; DONOR the funding source (IRL = Ireland, RBS = the
ILO's RBSA…). The tables are in whatworks/data/ilo_codes.yaml and whatworks/data/donors.yaml, so a
new donor code is a one-line data change.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from whatworks import vocab
from whatworks.describe.places import GLOBAL, ilo_codes, ilo_region, resolve_country_code

#: SCOPE/YY/NN/DONOR; the number is 2-3 digits ("INT/00/000/AAA" is the seed's placeholder).
ILO_CODE_RE = re.compile(r"(?<![A-Za-z0-9/])([A-Z]{3})/(\d{2})/(\d{2,3})/([A-Z]{3})(?![A-Za-z0-9/])")
ILO_CODE_SCAN = re.compile(r"[A-Z]{3}/\d\d/\d{2,3}/[A-Z]{3}")  # fast scan; boundaries checked after
#: IOM project codes: two letters and four digits ("CS1137", "RT.1354"), used only after a label.
IOM_CODE_RE = re.compile(r"\b([A-Z]{2})\.?(\d{4})\b")
IOM_LABEL_RE = re.compile(r"(?i)(project code|code du projet|código del proyecto|código do projeto|"
                          r"project id|project number)s?\s*[:\-–]?\s*")
#: The seed's placeholder symbol for reports without a real one.
PLACEHOLDER_DONOR = "AAA"



@dataclass
class ProjectCode:
    """One parsed project code, as put in the `project_codes` metadata list."""

    code: str
    system: str  # "ilo" or "iom"
    scope: str | None = None  # country | regional | global | interregional
    region_ilo: str | None = None
    country: str | None = None  # ISO3 when the scope is a country
    start_year: int | None = None
    number: str | None = None
    donor_code: str | None = None
    donor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@lru_cache(maxsize=1)
def _donor_codes() -> dict[str, str]:
    return {code: name for name, donor in vocab.load("donors").items() for code in donor.get("codes", [])}


def donor_for_code(code: str) -> str | None:
    """Who an ILO donor code means; an unlisted ISO3 country code is that country's government."""
    code = code.upper()
    table = _donor_codes()
    if code in table:
        return None if code == PLACEHOLDER_DONOR else table[code]
    iso3 = resolve_country_code(code)
    if iso3:
        from whatworks.describe.places import country_name

        return country_name(iso3)
    return None


def parse_ilo_code(code: str) -> ProjectCode | None:
    """Parse one ILO TC symbol ("RAF/13/04/IRL"); None when it is not one."""
    m = ILO_CODE_RE.fullmatch(code.strip())
    if not m:
        return None
    scope_code, yy, number, donor_code = m.groups()
    pc = ProjectCode(code=m.group(0), system="ilo", number=number, donor_code=donor_code)
    year = int(yy)
    if not (scope_code == "INT" and yy == "00" and donor_code == PLACEHOLDER_DONOR):
        pc.start_year = 2000 + year if year < 70 else 1900 + year
    scopes = ilo_codes().get("ilo_tc_scopes", {})
    if scope_code in scopes:
        pc.scope = scopes[scope_code]["scope"]
        pc.region_ilo = scopes[scope_code]["region"]
    else:
        iso3 = resolve_country_code(scope_code)
        if iso3:
            pc.scope, pc.country, pc.region_ilo = "country", iso3, ilo_region(iso3)
    pc.donor = donor_for_code(donor_code)
    if pc.scope is None and pc.region_ilo is None and pc.donor is None:
        return None  # three capital letters and digits that mean nothing we know
    return pc


def find_codes(text: str) -> list[tuple[ProjectCode, int, int]]:
    """Every project code in `text` with its span, first occurrence of each code only."""
    seen: set[str] = set()
    out = []
    for m in ILO_CODE_SCAN.finditer(text):
        a, b = m.start(), m.end()
        if (a and (text[a - 1].isalnum() or text[a - 1] == "/")) or (b < len(text) and (text[b].isalnum() or text[b] == "/")):
            continue
        pc = parse_ilo_code(m.group(0))
        if pc and pc.code not in seen:
            seen.add(pc.code)
            out.append((pc, m.start(), m.end()))
    for label in IOM_LABEL_RE.finditer(text):
        tail = text[label.end(): label.end() + 60].split("\n\n")[0]
        for m in IOM_CODE_RE.finditer(tail):
            code = f"{m.group(1)}{'.' if '.' in m.group(0) else ''}{m.group(2)}"
            if code not in seen:
                seen.add(code)
                out.append((ProjectCode(code=code, system="iom"), label.end() + m.start(), label.end() + m.end()))
    return out


def region_of(pc: ProjectCode) -> str | None:
    """The ILO region of a parsed code (global and interregional codes → Global/interregional)."""
    if pc.scope in ("global", "interregional"):
        return GLOBAL
    return pc.region_ilo
