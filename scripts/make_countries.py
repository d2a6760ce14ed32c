"""One-off generator of whatworks/data/countries.json (run by hand, not at run time).

Sources: CLDR territory names (babel) in en/fr/es/pt, ISO 3166 names (pycountry), the UN M49
sub-regions of `country_converter`, plus the hand-kept variants below (what evaluation reports
actually write: "Lao PDR", "DRC", "Moçambique"…) and the ILO regions (ILO regional offices).
Run it in a throwaway environment:

    python -m venv /tmp/gen && /tmp/gen/bin/pip install babel pycountry country_converter
    /tmp/gen/bin/python scripts/make_countries.py

The shipped JSON needs none of these packages.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import country_converter
import pycountry
from babel import Locale

OUT = Path(__file__).resolve().parent.parent / "whatworks" / "data" / "countries.json"
LANGS = ("en", "fr", "es", "pt")

#: ILO "Arab States" region (Regional Office for Arab States, Beirut).
ARAB_STATES = {"BHR", "IRQ", "JOR", "KWT", "LBN", "OMN", "QAT", "SAU", "SYR", "ARE", "YEM", "PSE"}
#: Asian/Middle-East countries the ILO covers from its Europe and Central Asia office.
ILO_EUROPE_ASIA = {"KAZ", "KGZ", "TJK", "TKM", "UZB", "ARM", "AZE", "GEO", "CYP", "ISR", "TUR"}

#: M49 intermediate regions and the sub-region they sit in.
INTERMEDIATE = {
    "Eastern Africa": "Sub-Saharan Africa",
    "Middle Africa": "Sub-Saharan Africa",
    "Southern Africa": "Sub-Saharan Africa",
    "Western Africa": "Sub-Saharan Africa",
    "Caribbean": "Latin America and the Caribbean",
    "Central America": "Latin America and the Caribbean",
    "South America": "Latin America and the Caribbean",
}
SUBREGION_TO_REGION = {
    "Northern Africa": "Africa",
    "Sub-Saharan Africa": "Africa",
    "Latin America and the Caribbean": "Americas",
    "Northern America": "Americas",
    "Central Asia": "Asia",
    "Eastern Asia": "Asia",
    "South-eastern Asia": "Asia",
    "Southern Asia": "Asia",
    "Western Asia": "Asia",
    "Eastern Europe": "Europe",
    "Northern Europe": "Europe",
    "Southern Europe": "Europe",
    "Western Europe": "Europe",
    "Australia and New Zealand": "Oceania",
    "Melanesia": "Oceania",
    "Micronesia": "Oceania",
    "Polynesia": "Oceania",
}
MISSING_SUBREGION = {"TWN": "Eastern Asia", "XKX": "Southern Europe"}

#: Names reports use that the sources miss (any language).
VARIANTS: dict[str, list[str]] = {
    "AFG": ["Afeganistão"],
    "BOL": ["Bolivia", "Bolívia", "Plurinational State of Bolivia", "Estado Plurinacional de Bolivia"],
    "BRA": ["Brasil", "Brésil", "Brazil"],
    "CIV": ["Côte d'Ivoire", "Côte d’Ivoire", "Cote d'Ivoire", "Cote d’Ivoire", "Ivory Coast",
            "Costa de Marfil", "Costa do Marfim", "Cote dIvoire"],
    "COD": ["Democratic Republic of the Congo", "Democratic Republic of Congo", "DR Congo", "DRC",
            "D.R. Congo", "RDC", "République démocratique du Congo", "République Démocratique du Congo",
            "RD Congo", "Congo-Kinshasa", "Congo, Democratic Republic", "República Democrática do Congo",
            "República Democrática del Congo"],
    "COG": ["Republic of the Congo", "Republic of Congo", "Congo-Brazzaville", "Congo Brazzaville",
            "République du Congo", "Congo"],
    "CPV": ["Cape Verde", "Cabo Verde", "Cap-Vert"],
    "CZE": ["Czech Republic", "Czechia", "République tchèque"],
    "DOM": ["Dominican Republic", "République dominicaine", "République Dominicaine", "República Dominicana"],
    "GBR": ["United Kingdom", "UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales",
            "Northern Ireland", "Royaume-Uni", "Reino Unido"],
    "GMB": ["The Gambia", "Gambia", "Gambie"],
    "GNB": ["Guinea-Bissau", "Guinea Bissau", "Guinée-Bissau", "Guiné-Bissau", "Guiné Bissau"],
    "GNQ": ["Equatorial Guinea", "Guinée équatoriale", "Guinea Ecuatorial", "Guiné Equatorial"],
    "HKG": ["Hong Kong"],
    "IRN": ["Iran", "Islamic Republic of Iran"],
    "KGZ": ["Kyrgyzstan", "Kyrgyz Republic", "Kirghizistan", "Kirguistán", "Quirguistão", "Quirguizistão"],
    "KOR": ["Republic of Korea", "South Korea", "Korea", "Corée du Sud", "Corea del Sur", "Coreia do Sul"],
    "PRK": ["North Korea", "DPRK", "Democratic People's Republic of Korea", "Corée du Nord",
            "Corea del Norte", "Coreia do Norte"],
    "LAO": ["Lao PDR", "Lao People's Democratic Republic", "Lao People’s Democratic Republic", "Laos",
            "RDP lao", "RDP Lao", "République démocratique populaire lao", "Lao P.D.R."],
    "MDA": ["Moldova", "Republic of Moldova", "Moldavie"],
    "MKD": ["North Macedonia", "Macedonia", "FYR Macedonia", "Macédoine du Nord", "Macedonia del Norte",
            "Macedónia do Norte"],
    "MMR": ["Myanmar", "Burma", "Birmanie", "Birmania", "Birmânia"],
    "MOZ": ["Mozambique", "Moçambique"],
    "NGA": ["Niger Delta", "Nigéria"],
    "GIN": ["Guinea", "Guinée", "Guinea Conakry", "Guinée-Conakry", "Guiné-Conacri"],
    "NLD": ["Netherlands", "The Netherlands", "Holland", "Pays-Bas", "Países Bajos", "Países Baixos"],
    "PER": ["Peru", "Perú", "Pérou"],
    "PSE": ["Palestine", "State of Palestine", "occupied Palestinian territory", "Occupied Palestinian Territory",
            "West Bank", "Gaza", "Gaza Strip", "Territoire palestinien occupé", "Territorio Palestino Ocupado"],
    "RUS": ["Russia", "Russian Federation", "Fédération de Russie", "Federación de Rusia", "Federação Russa"],
    "STP": ["Sao Tome and Principe", "São Tomé and Príncipe", "São Tomé e Príncipe", "Sao Tomé-et-Principe",
            "São Tomé-et-Principe", "Santo Tomé y Príncipe", "Sao Tome e Principe", "São Tomé"],
    "SWZ": ["Eswatini", "Swaziland", "eSwatini"],
    "SYR": ["Syria", "Syrian Arab Republic", "République arabe syrienne"],
    "TLS": ["Timor-Leste", "Timor Leste", "East Timor", "Timor oriental", "Timor Oriental"],
    "TUR": ["Türkiye", "Turkey", "Turquie", "Turquía", "Turquia"],
    "TZA": ["Tanzania", "United Republic of Tanzania", "Tanzanie", "Zanzibar"],
    "USA": ["United States", "United States of America", "USA", "U.S.", "U.S.A.", "États-Unis", "Etats-Unis",
            "Estados Unidos", "EE. UU.", "EEUU"],
    "VEN": ["Venezuela", "Bolivarian Republic of Venezuela"],
    "VNM": ["Viet Nam", "Vietnam", "Viêt Nam"],
    "VAT": ["Holy See", "Vatican"],
    "FSM": ["Micronesia", "Federated States of Micronesia"],
    "CHN": ["China", "People's Republic of China", "PRC", "Chine"],
    "TWN": ["Taiwan", "Taïwan"],
    "XKX": ["Kosovo"],
    "MUS": ["Mauritius", "Maurice", "Mauricio", "Maurícia", "Ilhas Maurício"],
    "KHM": ["Cambodia", "Cambodge", "Camboya", "Camboja", "Kampuchea"],
    "BFA": ["Burkina Faso", "Burkina"],
    "REU": ["La Réunion", "Reunion Island", "île de la Réunion"],
}
#: CLDR names that are also common words or belong to a larger name: never match them alone.
DROP = {"REU": {"Réunion", "Reunion", "Reunión", "Reunião"}, "JEY": {"Jersey"}, "GEO": set(),
        "SJM": {"Svalbard & Jan Mayen"}, "UMI": {"U.S. Outlying Islands"}, "FSM": set()}
#: Names shared by several countries or words: keep out of the matcher entirely.
AMBIGUOUS = {"Micronesia", "Maurice"}


def clean(name: str) -> list[str]:
    """A name and its usual simplifications: no parentheses, ISO "X, Republic of" reordered."""
    out = {name.strip()}
    base = re.sub(r"\s*\(.*?\)", "", name).strip()
    out.add(base)
    if ", " in base:
        a, b = base.split(", ", 1)
        out.add(f"{b} {a}")
    out.add(base.replace(" & ", " and "))
    return [n for n in out if len(n) >= 3 or n.isupper()]


def main() -> None:
    data_tsv = Path(country_converter.__file__).parent / "country_data.tsv"
    rows = [r for r in csv.DictReader(open(data_tsv, encoding="utf-8"), delimiter="\t")
            if not r["obsolete"] and len(r["ISO3"]) == 3 and r["ISO2"]]
    locales = {lang: Locale(lang) for lang in LANGS}
    countries = []
    for r in rows:
        iso3 = r["ISO3"]
        pc = pycountry.countries.get(alpha_3=iso3)
        iso2 = pc.alpha_2 if pc is not None else re.sub(r"[^A-Z]", "", r["ISO2"])[:2]
        unregion = r["UNregion"] or MISSING_SUBREGION.get(iso3, "")
        if unregion == "Antarctica" or not unregion:
            continue
        if unregion in INTERMEDIATE:
            intermediate, subregion = unregion, INTERMEDIATE[unregion]
        else:
            intermediate, subregion = None, unregion
        region = SUBREGION_TO_REGION[subregion]
        if iso3 in ARAB_STATES:
            ilo = "Arab States"
        elif iso3 in ILO_EUROPE_ASIA or region == "Europe":
            ilo = "Europe and Central Asia"
        elif region == "Africa":
            ilo = "Africa"
        elif region == "Americas":
            ilo = "Americas"
        else:
            ilo = "Asia and the Pacific"
        names: dict[str, list[str]] = {}
        for lang, loc in locales.items():
            found = set()
            cldr = loc.territories.get(iso2)
            if cldr:
                found.update(clean(cldr))
            names[lang] = found
        if pc is not None:
            for attr in ("name", "official_name", "common_name"):
                if getattr(pc, attr, None):
                    names["en"].update(clean(getattr(pc, attr)))
        names["en"].update(clean(r["name_short"]))
        names["en"].update(clean(r["name_official"]))
        variants = set(VARIANTS.get(iso3, []))
        drop = DROP.get(iso3, set()) | AMBIGUOUS
        all_names = set().union(*names.values()) | variants
        all_names = {n.replace(" - ", "-") if "Congo - " in n else n for n in all_names}
        all_names -= drop
        if iso3 == "REU":
            all_names = set(VARIANTS["REU"])
        name_en = locales["en"].territories.get(iso2) or r["name_short"]
        countries.append({
            "iso3": iso3,
            "iso2": iso2,
            "name": re.sub(r"\s*\(.*?\)", "", name_en),
            "names": {lang: sorted({n for n in names[lang] if n in all_names}) for lang in LANGS},
            "variants": sorted(all_names - set().union(*names.values())),
            "m49_region": region,
            "m49_subregion": subregion,
            "m49_intermediate": intermediate,
            "ilo_region": ilo,
        })
    owners: dict[str, set[str]] = {}
    for c in countries:
        for n in set().union(*map(set, c["names"].values())) | set(c["variants"]):
            owners.setdefault(n, set()).add(c["iso3"])
    shared = {n for n, o in owners.items() if len(o) > 1}  # "Guiana", "Saint-Martin": name none
    for c in countries:
        c["names"] = {lang: [n for n in ns if n not in shared] for lang, ns in c["names"].items()}
        c["variants"] = [n for n in c["variants"] if n not in shared]
    countries.sort(key=lambda c: c["iso3"])
    doc = {
        "about": "Countries with ISO 3166 codes, names in en/fr/es/pt and variants, UN M49 region, "
                 "sub-region and intermediate region, and ILO region. Generated by scripts/make_countries.py; "
                 "edit VARIANTS there (or this file by hand) to add a name.",
        "countries": countries,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(countries)} countries → {OUT}")


if __name__ == "__main__":
    main()
