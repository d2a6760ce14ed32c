"""What a document is about: title, organisation, year, period, timing, evaluator, type, places,
donors, project codes and language — each a Value with a confidence and the passage it came from.

Every value is found by the same idea: candidates are collected with points that depend on *where*
they were found (the title and the cover count most, a list of people met in an annex least) and
how often; the best candidate wins. The vocabulary (EN/FR/ES/PT) is in
whatworks/data (organisations.yaml, timing.yaml, evaluator_types.yaml, evaluation_types.yaml,
scopes.yaml, months.yaml, numbers.yaml, metadata.yaml), countries in countries.json, regions in regions.yaml.

Keys and value formats (what other modules can rely on):
    title            str
    organisation     str — a concept of organisations.yaml ("ILO", "IOM", "ESDC"…)
    year             int — the year the report was issued
    period           [start, end] — years of the evaluated period (either may be None)
    timing           final | midterm | ex_post | other          (evaluation kinds only)
    evaluator_type   independent | internal | self | joint      (evaluation kinds only)
    evaluation_type  project | programme | country_programme | thematic | strategy | high_level |
                     meta | impact | other                      (evaluation kinds only)
    scope            national | multi_country | regional | global
    countries        [ISO 3166 alpha-3], most prominent first
    regions_ilo      [Africa | Americas | Arab States | Asia and the Pacific |
                      Europe and Central Asia | Global/interregional]
    regions_m49      [UN M49 region, sub-region and intermediate-region names]
    donors           [donor names as in donors.yaml]
    project_codes    [{code, system, scope, region_ilo, country, start_year, number, donor_code, donor}]
    language         ISO 639-1 code (document.language)
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections import defaultdict
from functools import cache, lru_cache

from whatworks import vocab
from whatworks.describe.codes import ProjectCode, find_codes, region_of
from whatworks.describe.kind import (
    EVALUATION_KINDS,
    TOP_CHARS,
    DocView,
    Phrases,
    PhraseSet,
    phrase_pattern,
)
from whatworks.describe.mentions import next_label, unborrowed
from whatworks.describe.mentions import place_context as _context
from whatworks.describe.places import (
    GLOBAL,
    ILO_REGIONS,
    Mention,
    area_regions,
    countries,
    find_countries,
    find_places,
    ilo_region,
    m49_names,
)
from whatworks.model import Block, Document, Evidence, Section, Value
from whatworks.text import fold

log = logging.getLogger(__name__)

#: Characters at the start of a document that count as its cover and first pages.
COVER_CHARS = 1500
FRONT_CHARS = 5000
HEAD_CHARS = 30_000
#: At most this many countries are listed (a report naming 40 is global or regional).
MAX_COUNTRIES = 12



#: A class group (`choose`, `_pattern`) → its vocabulary file; other labels are in metadata.yaml.
GROUP_FILES = {"timing": "timing", "evaluator_type": "evaluator_types", "evaluation_type": "evaluation_types",
               "evaluation_type_title_only": "evaluation_types_title", "scope": "scopes"}


def organisations() -> vocab.Vocabulary:
    return vocab.load("organisations")


@lru_cache(maxsize=1)
def _donor_names() -> dict[str, list[str]]:
    return {name: donor.all() for name, donor in vocab.load("donors").items() if donor.terms}


@cache
def _pattern(group: str, key: str | None = None) -> Phrases | None:
    """The phrases of class `key` of a group, or of the labels `group` (metadata.yaml)."""
    if key is None:
        return phrase_pattern(vocab.load("metadata").terms(group))
    return phrase_pattern(vocab.load(GROUP_FILES[group]).terms(key))


@lru_cache(maxsize=1)
def _org_set() -> PhraseSet:
    # case-sensitive: organisations are proper nouns and acronyms ("CRA" is not "cra")
    return PhraseSet({org: c.all() for org, c in organisations().items()}, exact=True)


@cache
def _group_set(group: str) -> PhraseSet:
    return PhraseSet({cls: c.all() for cls, c in vocab.load(GROUP_FILES[group]).items()})


@lru_cache(maxsize=1)
def _date_re() -> re.Pattern[str]:
    months = sorted({w for c in vocab.load("months").values() for w in c.all()}, key=len, reverse=True)
    mon = "|".join(re.escape(m) for m in months)
    # "17 March 2023", "March 17, 2023", "March 2023", "Juin 2025", "1er juin 2025", "10 de junio de 2025",
    # "21/Enero/2019", "21-Jan-2019"
    return re.compile(
        rf"(?i)(?<![\w])(?:(?:\d{{1,2}}(?:er|st|nd|rd|th)?(?:\s+(?:de\s+)?|\s*[/-]\s*))?({mon})\.?,?(?:\s+|\s*[/-]\s*)"
        rf"(?:\d{{1,2}},?\s+)?(?:de\s+|del\s+)?((?:19|20)\d\d))(?!\d)"
    )


#: "05/2023", "18.11.2022": a numeric date whose last part is the year.
NUMERIC_DATE_RE = re.compile(r"(?:\d{1,2}[./-])?\d{1,2}[./-]((?:19|20)\d\d)(?!\d)")
ISO_DATE_RE = re.compile(r"(?<!\d)((?:19|20)\d\d)-(\d\d)-(\d\d)(?!\d)")
YEAR_RE = re.compile(r"(?<![\d/.-])((?:19|20)\d\d)(?![\d/])")
FISCAL_RANGE_RE = re.compile(
    r"(?<!\d)((?:19|20)\d\d)\s*[-–/]\s*(\d\d|(?:19|20)\d\d)\s+(?:to|à|a|au|until|–|-)\s+"
    r"(?:the\s+fiscal\s+year\s+)?((?:19|20)\d\d)\s*[-–/]\s*(\d\d|(?:19|20)\d\d)(?!\d)", re.IGNORECASE)
#: "1 January", "30 de junio de", "mai": what may stand before a year in a range.
_DAY_MONTH = r"(?:\d{1,2}(?:er|º|st|nd|rd|th)?\s+(?:de\s+)?)?(?:[^\W\d_]+\.?\s+(?:de\s+|del\s+)?)?"
RANGE_RE = re.compile(
    rf"(?i)(?<![\d/])(?:(?:from|de|del|desde|entre|between|du|do|da)\s+)?{_DAY_MONTH}((?:19|20)\d\d)\s*\)?\s*"
    rf"(?:[-–—]|to|à|a|au|al|até|hasta|and|et|y|e)\s*\(?{_DAY_MONTH}((?:19|20)\d\d)(?![\d/])")
#: "1 January - 31 December 2022", "ejercicio fiscal 2019": one year, after a period label.
ONE_YEAR_RE = re.compile(r"(?<![\d/])((?:19|20)\d\d)(?![\d/])")
LINE_END_DATE_MAX = 110
FORMAT_HINT_RE = re.compile(r"\s*\((?:dd|jj|mm|aaaa|yyyy|aa|yy|[/.\-\s])+\)", re.IGNORECASE)
#: "Mindelo, ", "Geneva, ": the place a report was signed in, between its label and its date.
PLACE_BEFORE_DATE_RE = re.compile(r"[A-Z\u00c0-\u00dd][^\W\d_]+(?:[ -][A-Z\u00c0-\u00dd][^\W\d_]+){0,2},\s*")
#: "the 2014 summative evaluation", "the previous mid-term review": another evaluation than this one.
ANOTHER_RE = re.compile(r"(?i)(?:19|20)\d\d\s*(?:\w+\s+)?$|\b(?:previous|prior|last|earlier|first|second|"
                        r"précédente?|antérieure?|anterior|pasada|última|ultima)\s+(?:\w+\s+)?$")
#: "Joint evaluation and audit of …": an evaluation done with an audit, not with a partner.
AND_AUDIT_RE = re.compile(r"(?i)\s+(?:and|et|y|e|&)\s+(?:l[’']\s*)?(?:audit|auditor[ií]a|auditoria|verificaci[óo]n)")
#: A sentence about another, earlier evaluation ("The previous evaluation of this Program …").
PREVIOUS_RE = re.compile(r"(?i)\b(?:previous|prior|last|earlier|pr[ée]c[ée]dente?|ant[ée]rieure?|anterior|pasada)\b")
#: "the final evaluation, planned for 2024, will be external": an evaluation still to come.
FUTURE_RE = re.compile(r"(?i)^[^.;]{0,25}?\b(?:planned|scheduled|foreseen|expected|will\s+be|to\s+be\s+(?:conducted|carried)|"
                       r"prevista|previsto|programada|será|sera|prévue|prévu|aura\s+lieu|à\s+venir|upcoming)\b")
#: A country named as a case study of a wider evaluation does not make it a country evaluation.
CASE_STUDY_RE = re.compile(r"(?i)case stud|étude de cas|etude de cas|estudio de caso|estudo de caso")  # a cover line holding a date is short


def extract_metadata(document: Document, sections: list[Section], kind: Value) -> dict[str, Value]:
    """Every metadata value we can find in `document`, each with confidence and evidence."""
    view = DocView(document, sections)
    md: dict[str, Value] = {}
    md["title"] = title_of(view)
    md["language"] = Value(document.language, 0.9 if document.language != "und" else 0.0, None)
    codes = find_codes(view.head + "\n" + view.text[-HEAD_CHARS:] if len(view.text) > 2 * HEAD_CHARS else view.text)
    org, org_home = organisation_of(view, [pc for pc, _, _ in codes])
    if org:
        md["organisation"] = org
    # where a state's or ministry's report is (its places only: who evaluated is another matter)
    place_home = org_home or (government_home(view) if org is None else None)
    if codes:
        first = codes[0]
        md["project_codes"] = Value([pc.to_dict() for pc, _, _ in codes], 0.95,
                                    _evidence_in(view, first[0].code))
    period = period_of(view)
    if period:
        md["period"] = period
    year = year_of(view, period.value if period else None)
    if year:
        md["year"] = year
    donors = donors_of(view, [pc for pc, _, _ in codes])
    if donors:
        md["donors"] = donors
    donor_countries = {c for d in (donors.value if donors else []) for c in find_countries(d)}
    if org is not None:  # Sida's evaluations are paid by Sweden, not about it
        home_of_aid = (organisations()[org.value].get("donor_country") if org.value in organisations() else None)
        if home_of_aid:
            donor_countries.add(home_of_aid)
    places = places_of(view, [pc for pc, _, _ in codes], place_home, donor_countries,
                       international=org is not None and not org_home,
                       evaluation=kind.value in EVALUATION_KINDS)
    md.update(places)
    if kind.value in EVALUATION_KINDS or (kind.value == "other" and kind.confidence < 0.5):
        md["timing"] = choose(view, "timing", default="other")
        md["evaluator_type"] = choose(view, "evaluator_type", default=None) or _default_evaluator(org_home)
        if md["evaluator_type"].value == "internal" and not _titled(view, "evaluator_type"):
            hired = _pattern("contracted_evaluator")
            component = _pattern("evaluation_component")
            m = next((x for x in (hired.finditer(view.head) if hired is not None else [])
                      if not _of_a_component(view.head, x.start(), component)), None)
            if m:  # a firm or consultants under contract did it: independent (the guidelines' rule)
                md["evaluator_type"] = Value("independent", 0.7, view.evidence(m.start(), m.end()))
        md["evaluation_type"] = evaluation_type_of(view, codes)
        if md["evaluation_type"].value == "meta" and md["timing"].value != "other" and not _titled(view, "timing"):
            # a synthesis of evaluations names the timings of the evaluations it read, not its own
            md["timing"] = Value("other", 0.6, md["evaluation_type"].evidence)
        if md["evaluation_type"].value == "other" and md["scope"].value == "global":
            # an organisation-wide evaluation of neither a project nor a programme: a theme
            md["evaluation_type"] = Value("thematic", 0.45, md["scope"].evidence)
    return md


# --- title -------------------------------------------------------------------------------


def title_of(view: DocView) -> Value:
    title = view.title
    doc = view.document
    junk = not title or len(title) < 8 or title.lower() in {"untitled", "title", "document"} or \
        re.search(r"\.(docx?|pdf|indd|pptx?)$", title, re.I) or title == view.filename
    # a stored title that only names the kind ("Final evaluation report", "Relatório") or the
    # organisation gives way to a better heading on the cover, if there is one
    weak = not junk and doc.format != "html" and _not_a_title(title)  # a web page's <title> is meant
    if not junk and not weak:
        return Value(title, 0.9, Evidence(1, title))
    first_page = [b for b in doc.blocks if b.page == (doc.pages[0].number if doc.pages else 1)]
    if weak:
        heads = []
        for b in first_page[:12]:
            if b.kind != "heading" or len(b.text.strip()) < 8:
                continue
            if not _not_a_title(b.text):
                heads.append(b)
            elif _names_section(b.text) and not _generic(b.text):
                break  # the contents, the background, chapter 1: the cover is over
        if not heads:
            lines = _cover_lines(first_page)
            if lines:
                return Value(lines, 0.6, Evidence(1, lines))
            return Value(title, 0.6, Evidence(1, title))
    else:  # the first heading, or the first lines of the cover (until a date or 200 characters)
        heads = [b for b in first_page if b.kind == "heading" and len(b.text.strip()) >= 8]
    if heads:
        best = max(heads[:5], key=lambda b: b.font_size or 0)
        text = re.sub(r"\s+", " ", best.text).strip()
        return Value(text[:300], 0.75, Evidence(best.page, best.text.strip()[:300]))
    lines: list[str] = []
    for b in first_page[:8]:
        line = re.sub(r"\s+", " ", b.text).strip()
        if not line or re.fullmatch(r"[\d\W]+", line):
            continue
        if _date_re().search(line) and lines:
            break
        lines.append(line)
        if sum(map(len, lines)) > 150:
            break
    text = " ".join(lines)[:300] or view.filename
    return Value(text, 0.5, Evidence(1, text))


#: "Código del proyecto: ECU/19/01/SPA": a cover's label line, not its title.
LABEL_LINE_RE = re.compile(r"^[^\W\d][\w .()/'\u2019-]{1,100}?\s?[:\uff1a]\s")


def _cover_lines(first_page: list[Block]) -> str:
    """The title a cover gives in the lines right after its kind's name ("Evaluación final
    independiente" / "Proyecto «Economía social…»"), up to its first "Label: value" line;
    "" when the cover goes on with a table, a label or a short line instead."""
    lines: list[str] = []
    for b in first_page[:8]:
        line = re.sub(r"\s+", " ", b.text).strip()
        if not line or re.fullmatch(r"[\d\W]+", line):
            continue
        if not lines and _not_a_title(line):
            continue  # the kind's name, the organisation, a date
        if b.kind not in ("heading", "paragraph") or LABEL_LINE_RE.match(line) or _names_section(line) \
                or _date_re().search(line) or len(line.split()) < 4:
            break
        lines.append(line)
        if sum(map(len, lines)) > 150:
            break
    return " ".join(lines)[:300]


def _not_a_title(text: str) -> bool:
    """A document's kind alone ("Rapport final", "Management response"), an organisation's name
    ("INTERNATIONAL LABOUR ORGANIZATION"), a date ("Juin 2025") or a short section heading
    ("Table of contents"): a stored title or a cover line that says nothing about the subject."""
    line = re.sub(r"\s+", " ", text).strip()
    if _generic(line):
        return True
    # "INTERNATIONAL LABOUR ORGANIZATION", "Organisation internationale du Travail – Bureau de l'évaluation"
    lead = re.split(r"\s+[\u2013\u2014|-]\s+", line)[0]
    if any(fold(lead) == fold(n) for c in organisations().values() for n in c.all()):
        return True
    d = _date_re().search(line)
    if d and len(line) - (d.end() - d.start()) < 12:
        return True
    words = re.findall(r"[^\W\d_]+", fold(line))
    return len(words) <= 4 and _names_section(line)


def _generic(text: str) -> bool:
    """Nothing but the name of a document kind and words such as "final", "draft", "report"
    ("Résumé de l'évaluation", "PROJECT COMPLETION REPORT", "Rapport final")."""
    from whatworks.describe.kind import phrase_sets

    folded = fold(text)
    covered = list(folded)
    for _, m in phrase_sets()["title"].finditer(text):
        covered[m.start(): m.end()] = " " * (m.end() - m.start())
    rest = re.findall(r"[^\W\d_]+", "".join(covered))
    generic = {fold(w) for w in vocab.load("metadata").terms("generic_title_words")}
    return all(w in generic for w in rest)


def _names_section(text: str) -> bool:
    from whatworks.describe.headings import heading_kinds

    return bool(heading_kinds(re.sub(r"\s+", " ", text).strip()))


# --- organisation ----------------------------------------------------------------------


def organisation_of(view: DocView, codes: list[ProjectCode] | None = None) -> tuple[Value | None, str | None]:
    meta = view.document.meta or {}
    meta_text = " ".join(str(meta.get(k, "")) for k in ("dcterms.creator", "dcterms.publisher", "author",
                                                          "citation_publisher", "og:site_name", "Author", "author"))
    scores: dict[str, float] = defaultdict(float)
    where: dict[str, Evidence] = {}
    title = " ".join(t for _, t in view.title_sources()[:1])
    orgs = _org_set()
    stored = view.document.format in ("pdf", "docx")  # properties that may be another file's
    for org, _ in orgs.finditer(meta_text) if meta_text else []:
        on_page = orgs.by_name(view.head).get(org)
        if stored and not on_page:
            continue  # believed only when the pages name the organisation too
        if org not in where or scores[org] < 10:
            scores[org] += 10
            where[org] = (view.evidence(on_page[0].start(), on_page[0].end()) if on_page
                          else Evidence(None, f"file metadata: {meta_text.strip()[:150]}"))
    for org in {o for o, _ in orgs.finditer(title)}:
        scores[org] += 5
        where.setdefault(org, Evidence(1, title[:200]))
    for org, ms in orgs.by_name(view.head).items():
        cover = [m for m in ms if m.start() < COVER_CHARS]
        scores[org] += 3 * min(len(cover), 2) + 0.3 * min(len(ms), 10)
        where.setdefault(org, view.evidence(ms[0].start(), ms[0].end()))
    ilo = next((pc for pc in codes or [] if pc.system == "ilo"), None)
    if ilo is not None and "ILO" in organisations():
        # a TC symbol (RAF/13/04/IRL) is the ILO's own: its projects' reports are the ILO's,
        # whoever the donor named on the cover ("Donor: Sweden (Sida)")
        scores["ILO"] += 6
        where.setdefault("ILO", _evidence_in(view, ilo.code))
    if not scores or max(scores.values()) < 1:
        return None, None
    best = max(scores, key=lambda o: scores[o])
    ranked = sorted(scores.values(), reverse=True)
    margin = ranked[0] - (ranked[1] if len(ranked) > 1 else 0)
    conf = min(0.95, 0.5 + margin / 20)
    home = organisations()[best].get("home")
    return Value(best, round(conf, 3), where.get(best)), home


# --- dates ------------------------------------------------------------------------------


#: A government's web or mail domain: "zacatecas.gob.mx", "dgeval.gouv.sn", "hc-sc.gc.ca", "gov.br".
GOV_DOMAIN_RE = re.compile(r"(?i)(?<![\w-])(?:[a-z0-9-]+\.)*(?:gob|gov|gouv|govt|gc)\.(?P<cc>[a-z]{2})(?![\w.-]*\w)")


def government_home(view: DocView) -> str | None:
    """The country of the one government whose web or mail domains the first pages use, when no
    known organisation wrote the document: a state's or ministry's report is about its country
    (a form that names no country but gives "…@zacatecas.gob.mx")."""
    found: dict[str, int] = defaultdict(int)
    for m in GOV_DOMAIN_RE.finditer(view.text[:HEAD_CHARS]):
        iso3 = next((c for c, rec in countries().items() if rec.get("iso2") == m.group("cc").upper()), None)
        if iso3:
            found[iso3] += 1
    return next(iter(found)) if len(found) == 1 else None


def _year_ok(y: int) -> bool:
    return 1950 <= y <= _dt.date.today().year + 1


#: A single year opening a title ("2016 Evaluation of …"), not one end of a range ("2014-2015
#: Evaluation", "2016-17"). A year closing a title is often the evaluated one ("Evaluación de
#: Consistencia y Resultados, 2017" of fiscal year 2017), so it is not read here.
_TITLE_YEAR_RE = re.compile(
    r"^\s*(?P<y>(?:19|20)\d\d)(?!\s*(?:[-\u2013\u2014/]\s*\d|to\b|au\b|a\b|\u00e0\b|al\b))\s+(?=[^\W\d])")


def _is_date_verb(text: str) -> bool:
    """"prepared", "préparé le", "elaborado el": the words between a report-date label and its date."""
    words = fold(text).strip(" ,").lower()
    return bool(words) and words in {fold(w).lower() for w in vocab.load("metadata").terms("report_date_verbs")}


def year_of(view: DocView, period: list[int | None] | None) -> Value | None:
    """The year the report was issued: a labelled date, the cover's date, the file's own metadata."""
    cands: list[tuple[float, int, Evidence]] = []  # (points, year, evidence)
    text = view.text
    head = text[:HEAD_CHARS]
    labels = _pattern("report_date_labels")
    if labels is not None:
        for m in labels.finditer(head):
            tail = head[m.end(): m.end() + 60]
            hint = FORMAT_HINT_RE.match(tail)  # "(dd/mm/aaaa)": how to write the date, not the date
            tail = tail[hint.end():] if hint else tail
            sep = re.match(r"\s*(?:[:：|]\s*)?[-–,(]?\s*", tail)  # "Date of Report: …", "| Date of Report | … |"
            colon = any(c in sep.group(0) for c in ":：|")
            d = _date_re().search(tail) or ISO_DATE_RE.search(tail) or (
                (NUMERIC_DATE_RE.match(tail, sep.end()) or YEAR_RE.search(tail)) if colon else None)
            # a label, not prose: "Date of publication: …", "Final report – March 2019" (or "Relatório
            # final - Mindelo, outubro de 2022": a place, then the date), not "published in 2003"
            between = tail[sep.end(): d.start()] if d else ""
            if not d or not (colon or d.start() == sep.end() or (d.re is _date_re() and (
                    PLACE_BEFORE_DATE_RE.fullmatch(between) or _is_date_verb(between)))):
                continue
            y = int(d.group(2) if d.re is _date_re() else d.group(1))
            if _year_ok(y):
                pts = 7 if "publi" in m.group(0).lower() else 10
                cands.append((pts, y, view.evidence(m.start(), m.end() + d.end())))
    # "2016 Evaluation of …": a year the title (as the first page shows it) gives the evaluation
    if view.heading:
        tm = _TITLE_YEAR_RE.search(view.heading)
        at = text.find(view.heading[:200])
        if tm and at >= 0 and _year_ok(int(tm.group("y"))):
            cands.append((7, int(tm.group("y")), view.evidence(at + tm.start("y"), at + tm.end("y"))))
    bare = _pattern("report_date_colon_labels")
    for m in bare.finditer(head[:FRONT_CHARS]) if bare is not None else []:
        # "Date: March 2023", "Data: 19 de setembro de 2022" — only with the colon, only up front
        tail = head[m.end(): m.end() + 50]
        sep = re.match(r"\s*[:：|]\s*", tail)
        if not sep:
            continue
        d = _date_re().match(tail, sep.end()) or ISO_DATE_RE.match(tail, sep.end()) or \
            NUMERIC_DATE_RE.match(tail, sep.end())
        if not d:
            continue
        y = int(d.group(2) if d.re is _date_re() else d.group(1))
        if _year_ok(y):
            cands.append((6, y, view.evidence(m.start(), m.end() + d.end())))
    # dates standing on a short cover line ("Final Evaluation Report, 17 March 2023", "Juin 2025")
    pos = 0
    period_label = _pattern("period_labels")
    for line in text[:COVER_CHARS * 2].split("\n"):
        s = line.strip()
        if period_label is not None and (pm := period_label.search(s[:40])) and pm.start() < 3:
            pos += len(line) + 1
            continue  # "Reporting period: January – December 2021" dates the work, not the report
        if 0 < len(s) <= LINE_END_DATE_MAX:
            d = _date_re().search(s)
            if d and _year_ok(int(d.group(2))):
                # a line that is nothing but a date, or ends with it, is the cover's date
                rest = (s[: d.start()] + s[d.end():]).strip(" ,.;:-–()[]")
                pts = 8 if len(rest) < 60 else 5
                pts -= 2 * (pos > COVER_CHARS) + pos / (COVER_CHARS * 2)  # the earlier, the likelier
                pts -= 3 * ("|" in s)  # a table row (a timeline), not a cover
                cands.append((pts, int(d.group(2)), view.evidence(pos + line.find(s) + d.start(), pos + line.find(s) + d.end())))
            elif re.fullmatch(r"(?:19|20)\d\d", s) and pos < COVER_CHARS:
                cands.append((3, int(s), view.evidence(pos + line.find(s), pos + line.find(s) + 4)))
        pos += len(line) + 1
    # citation of the report itself: "EBA (2017)", "Rapport 2017:12"
    for m in re.finditer(r"(?<![\d])((?:19|20)\d\d):\d{1,2}\b", text[:FRONT_CHARS]):
        if _year_ok(int(m.group(1))):
            cands.append((4, int(m.group(1)), view.evidence(m.start(), m.end())))
    meta = view.document.meta or {}
    for key, pts in (("dcterms.issued", 6), ("citation_date", 5), ("creationDate", 3), ("CreationDate", 3),
                     ("created", 3), ("dcterms.modified", 2), ("modified", 1.5), ("ModDate", 1.5), ("modDate", 1.5)):
        val = str(meta.get(key) or "")
        m = re.search(r"((?:19|20)\d\d)", val)
        if m and _year_ok(int(m.group(1))):
            ev = _on_page(view, m.group(1))
            if ev is None and view.document.format in ("pdf", "docx"):
                continue  # a file's stored dates count only when its first pages show the year
            cands.append((pts, int(m.group(1)), ev or Evidence(None, f"file metadata {key}: {val}")))
    end = period[1] if period and period[1] else None
    if log.isEnabledFor(logging.DEBUG):
        log.debug("year candidates of %s: %s", view.document.source, [(round(p, 1), y, e.text[:60]) for p, y, e in cands])
    if not cands:
        years = [int(y) for y in YEAR_RE.findall(text[:FRONT_CHARS]) if _year_ok(int(y))]
        if years:
            y = max(years)
            i = text.find(str(y))
            return Value(y, 0.3, view.evidence(i, i + 4))
        return None
    best: dict[int, float] = defaultdict(float)
    ev: dict[int, tuple[float, Evidence]] = {}
    for pts, y, e in cands:
        if end and y < end - 1:  # a report is not issued before the period it evaluates ends
            pts -= 4
        best[y] = max(best[y], pts) + 0.5 * min(best[y], pts) / 10
        if y not in ev or pts > ev[y][0]:
            ev[y] = (pts, e)
    y = max(best, key=lambda k: (best[k], -abs(k - (end or k))))
    conf = min(0.95, 0.4 + best[y] / 15)
    return Value(y, round(conf, 3), ev[y][1])


def _of_a_component(text: str, at: int, component: Phrases | None) -> bool:
    """Whether the sentence up to `at` says a firm did a part of the work ("A survey of 500
    charities was conducted by an independent consulting firm"), not the evaluation."""
    start = max(text.rfind(". ", 0, at), text.rfind("\n", 0, at), at - 300)
    before = text[start + 1: at]
    return component is not None and component.search(before) is not None and \
        not re.search(r"(?i)\b(?:evaluation|évaluation|evaluación|avaliação)\b", before)


def _fy_end(a: str, b: str) -> int:
    return int(b) if len(b) == 4 else int(a[:2] + b) if int(b) >= int(a[2:]) else int(a[:2]) * 100 + 100 + int(b)


def period_of(view: DocView) -> Value | None:
    """The evaluated period [start, end] in years: from the title, a labelled line, or the cover."""
    sources = [("title", view.title or view.heading, 10)]
    # "Timeframe covered: 2019–2023" wins over "Expected duration: 2019–2024"
    for group, pts in (("period_covered_labels", 11), ("period_labels", 8)):
        labels = _pattern(group)
        if labels is None:
            continue
        for m in labels.finditer(view.text[:HEAD_CHARS]):
            before = view.text[max(0, m.start() - 120): m.start()]
            if PREVIOUS_RE.search(before[before.rfind(". ") + 1:]):
                continue  # "The previous evaluation … covered the period between 2012 and 2016"
            line_end = view.text.find("\n", m.end())
            seg = view.text[m.end(): min(line_end if line_end > 0 else m.end() + 120, m.end() + 120)]
            nxt = next_label(seg, 2)  # a cover read as one paragraph: up to the next label
            seg = seg[:nxt] if nxt is not None else seg
            if len(seg) < 150 and (RANGE_RE.search(seg) or FISCAL_RANGE_RE.search(seg)
                                   or len(set(ONE_YEAR_RE.findall(seg))) == 1):
                sources.append(("label", view.text[m.start(): m.end() + len(seg)], pts))
                break
    best: tuple[float, list[int], Evidence] | None = None
    for source, text, pts in sources:
        if not text:
            continue
        fm = FISCAL_RANGE_RE.search(text)
        if fm:
            start, end = int(fm.group(1)), _fy_end(fm.group(3), fm.group(4))
            cand = (pts + 1, [start, end], Evidence(1 if source == "title" else None, text.strip()[:200]))
        else:
            rm = RANGE_RE.search(text)
            one = set(ONE_YEAR_RE.findall(text)) if source == "label" else set()
            if rm:
                start, end = int(rm.group(1)), int(rm.group(2))
            elif len(one) == 1:  # "Reporting period: 1 January – 31 December 2022"
                start = end = int(next(iter(one)))
                pts -= 1
            else:
                continue
            cand = (pts, [start, end], Evidence(1 if source == "title" else None, text.strip()[:200]))
        if not (_year_ok(start) and _year_ok(end) and 0 <= end - start <= 30):
            continue
        if best is None or cand[0] > best[0]:
            best = cand
    if best is None:
        return None
    pts, value, ev = best
    if ev.page is None:
        i = view.text.find(ev.text[:60])
        if i >= 0:
            ev = Evidence(view.page_at(i), ev.text)
    return Value(value, 0.85 if pts >= 10 else 0.7, ev)


# --- timing, evaluator, type ----------------------------------------------------------------


def choose(view: DocView, group: str, default: str | None) -> Value | None:
    """The vocabulary class of `group` named most prominently: title > cover > first pages."""
    scores: dict[str, float] = defaultdict(float)
    where: dict[str, tuple[float, Evidence]] = {}
    title = " / ".join(t for s, t in view.title_sources() if s != "top" and t)
    gset = _group_set(group)
    for cls in {c for c, m in gset.finditer(title) if not AND_AUDIT_RE.match(title[m.end():])}:
        scores[cls] += 10
        where[cls] = (10, Evidence(1, title[:200]))
    for cls, found in gset.by_name(view.head).items():
        ms = [x for x in found if not ANOTHER_RE.search(view.head[max(0, x.start() - 30): x.start()])
              and not FUTURE_RE.match(view.head[x.end(): x.end() + 60])
              and not AND_AUDIT_RE.match(view.head[x.end():])]
        cover = [x for x in ms if x.start() < FRONT_CHARS]
        if cover:
            scores[cls] += 5
        if any(x.start() < TOP_CHARS for x in ms):
            scores[cls] += 3  # the cover's own heading ("Independent Final Evaluation of …")
        scores[cls] += min(len(ms), 4)
        if ms and (cls not in where):
            where[cls] = (5, view.evidence(ms[0].start(), ms[0].end()))
    scores = {k: v for k, v in scores.items() if v >= 3}
    if not scores:
        return Value(default, 0.4, None) if default else None
    best = max(scores, key=lambda k: scores[k])
    ranked = sorted(scores.values(), reverse=True)
    margin = ranked[0] - (ranked[1] if len(ranked) > 1 else 0)
    conf = min(0.95, 0.45 + scores[best] / 40 + margin / 40)
    return Value(best, round(conf, 3), where[best][1])


def _titled(view: DocView, group: str) -> bool:
    """Whether the title or file name names a class of `group` (a timing, an evaluator)."""
    title = " / ".join(t for s, t in view.title_sources() if s != "top" and t)
    return bool(_group_set(group).finditer(title))


def _default_evaluator(home: str | None) -> Value:
    # a national department's evaluation unit evaluates its own programmes
    return Value("internal" if home else "independent", 0.4, None)


def evaluation_type_of(view: DocView, codes: list[tuple[ProjectCode, int, int]]) -> Value:
    """project | programme | … : specific types from the vocabulary, then project vs programme."""
    specific = ("meta", "high_level", "strategy", "country_programme", "thematic", "impact")
    title = " / ".join(t for s, t in view.title_sources() if s != "top" and t)
    cover = view.text[:FRONT_CHARS]
    for where, text, conf in (("title", title, 0.85), ("cover", cover, 0.65)):
        for cls in specific:
            pat = _pattern("evaluation_type", cls)
            m = pat.search(text) if pat else None
            if m is None and where == "title" and cls in vocab.load("evaluation_types_title"):
                pat = _pattern("evaluation_type_title_only", cls)
                m = pat.search(text) if pat else None
            if m:
                ev = Evidence(1, title[:200]) if where == "title" else view.evidence(m.start(), m.end())
                return Value(cls, conf, ev)
    for where, text, conf in (("title", title, 0.7), ("cover", view.text[:COVER_CHARS], 0.55)):
        found = {}
        for cls in ("programme", "project"):
            pat = _pattern("evaluation_type", cls)
            m = pat.search(text) if pat else None
            if m:
                found[cls] = m
        if found:
            cls = min(found, key=lambda c: found[c].start())
            ev = Evidence(1, title[:200]) if where == "title" else view.evidence(found[cls].start(), found[cls].end())
            return Value(cls, conf, ev)
    if codes:
        return Value("project", 0.5, _evidence_in(view, codes[0][0].code))
    return Value("other", 0.3, None)


# --- places -------------------------------------------------------------------------------


def _weight(view: DocView, offset: int) -> float:
    n = len(view.text)
    if offset >= view.annex_from:
        return 0.2
    if offset < COVER_CHARS * 2:
        return 3.0
    if offset < max(n * 0.15, 20_000):
        return 1.5
    return 1.0


def places_of(view: DocView, codes: list[ProjectCode], home: str | None,
              donor_countries: set[str] | None = None, international: bool = True,
              evaluation: bool = True) -> dict[str, Value]:
    """countries, regions_ilo, regions_m49 and scope, weighted by where places are named.
    `international`: the report is an international body's (an organisation-wide evaluation is
    then likely when no place stands out); a government's or an unknown body's is not.
    `evaluation`: the report belongs to an evaluation (see `international`)."""
    out: dict[str, Value] = {}
    title = " / ".join(t for s, t in view.title_sources() if s != "top" and t)
    score: dict[str, float] = defaultdict(float)
    area_score: dict[str, float] = defaultdict(float)
    first: dict[str, Evidence] = {}
    in_title: set[str] = set()
    for m in find_places(title):
        key = m.iso3 or m.area
        if key:
            (score if m.iso3 else area_score)[key] += 10
            in_title.add(key)
            first.setdefault(key, Evidence(1, title[:200]))
    mentions: list[Mention] = unborrowed(find_places(view.text))
    on_cover: set[str] = set()
    funders: set[str] = set()
    kept: list[Mention] = []
    for m in mentions:
        context = _context(view.text, m.start, m.end)
        if context == "funding" and m.iso3:
            funders.add(m.iso3)
        if context:
            continue  # a funder, an example, an address, a citation: not a place the object covers
        kept.append(m)
        if m.iso3 and m.start < COVER_CHARS and not CASE_STUDY_RE.search(
                view.text[max(0, m.start - 40): m.end + 40]):
            on_cover.add(m.iso3)
        w = _weight(view, m.start)
        if m.iso3:
            score[m.iso3] += w
        elif m.area:
            area_score[m.area] += w
        key = m.iso3 or m.area
        if key and key not in first:
            first[key] = view.evidence(m.start, m.end)
    covered: set[str] = set()
    fielded: set[str] = set()  # named by a labelled field ("Location: Country | Canada & Ethiopia")
    coverage_global: Evidence | None = None
    coverage = _pattern("coverage_labels")
    if coverage is not None:
        for cm in coverage.finditer(view.text[:HEAD_CHARS]):
            after = view.text[cm.end(): cm.end() + 3]
            if not re.match(r"\s*[:：|]", after):
                continue
            # a field ("Location: Country | …", "| Countries covered | …"), not prose ("comparison
            # countries: Denmark; Germany …")
            lead = view.text[view.text.rfind("\n", 0, cm.start()) + 1: cm.start()].strip()
            at_line_start = not lead or lead.endswith("|")
            line_end = view.text.find("\n", cm.end())
            line = view.text[cm.end(): line_end if 0 < line_end < cm.end() + 300 else cm.end() + 300]
            # a cover read as one paragraph: "Countries: Jordan, Lebanon Donor: Germany …" —
            # the list ends where the next "Label:" starts
            nxt = next_label(line, 2)
            if nxt is not None:
                line = line[:nxt]
            gl = _pattern("scope", "global")
            if gl is not None and gl.search(line) and coverage_global is None:
                # "Geographical coverage: Global (with case studies on Ethiopia and Türkiye)"
                coverage_global = view.evidence(cm.start(), cm.end() + len(line))
                continue
            areas = {r for m in find_places(line) if m.area for r in (area_regions(m.area)[0] or [m.area])}
            if len(areas) >= 3 and coverage_global is None:
                # "Location: Latin America, Asia, Africa, Canada": three regions of the world
                coverage_global = view.evidence(cm.start(), cm.end() + len(line))
                continue
            for m in find_places(line):
                if m.iso3:
                    score[m.iso3] += 10
                    covered.add(m.iso3)
                    if at_line_start:
                        fielded.add(m.iso3)
                    first[m.iso3] = view.evidence(cm.start(), cm.end() + len(line))
    for iso3, ev in _cover_country_lines(view) + _counted_countries(view):
        if iso3 not in covered:
            score[iso3] += 10
            covered.add(iso3)
            first[iso3] = ev
    for pc in codes:
        if pc.country:
            score[pc.country] += 10
            first.setdefault(pc.country, Evidence(None, pc.code))
    if home:
        score[home] += 5
    for c in donor_countries or ():
        # "funded by the Government of Japan": a donor country is not a country covered
        if c not in in_title and c not in covered and not any(pc.country == c for pc in codes):
            score.pop(c, None)
    chosen: list[str] = []
    if score:
        top = max(score.values())
        # a national body's evaluation is about its country: foreign ones must be prominent
        floor = max(4.0, (0.5 if home else 0.2) * top)
        anchored = in_title | covered | {pc.country for pc in codes if pc.country}
        if anchored & set(score):
            # the object's own countries are known (title, coverage field, project code): another
            # country must be named about as often to be covered too
            floor = max(floor, 0.5 * top)
        chosen = [c for c, s in sorted(score.items(), key=lambda kv: -kv[1]) if s >= floor or c in in_title]
        if fielded:
            # a labelled coverage or location field says which countries: partners' and experts'
            # countries named in the text ("Dr Geysen (ECF expert, Belgium)") are not added to it
            chosen = [c for c in chosen if c in anchored]
        chosen = chosen[:MAX_COUNTRIES]
        named = {m.iso3 for m in kept if m.iso3} - (donor_countries or set())
        if not chosen and len(named) == 1 and (named <= on_cover or score.get(next(iter(named)), 0) >= 2):
            # the one country a document names (on its cover, or more than once): its country
            chosen = list(named)
    scope = _scope(view, title, codes, chosen, area_score)
    if coverage_global is not None:
        scope = Value("global", 0.85, coverage_global)
    spread = len({ilo_region(c) for c in chosen})
    if (scope.confidence < 0.8 and international and not home and not codes and not in_title and not covered
            and not on_cover.intersection(chosen) and scope.value != "global"
            and (evaluation or not chosen or spread >= 3 or len(chosen) > MAX_COUNTRIES // 2)):
        # an international body's evaluation whose title names no place is organisation-wide; its
        # other reports (a research project's completion report) cover the places they name when
        # these lie together ("seven African countries namely Botswana, …")
        scope = Value("global", 0.55, Evidence(1, title[:200]) if title else None)
    if scope.value == "global" and chosen:
        # a global evaluation lists only the countries it studied closely (case studies)
        top = max(score.values())
        chosen = [c for c in chosen if score[c] >= 0.5 * top or c in in_title]
    if chosen:
        top_c = chosen[0]
        strong = top_c in in_title or score[top_c] >= 20
        out["countries"] = Value(chosen, 0.9 if strong else 0.65, first.get(top_c))
    out["scope"] = scope
    regions: list[str] = []
    m49: list[str] = []
    if scope.value == "global":
        regions = [GLOBAL]
    else:
        for c in chosen:
            r = ilo_region(c)
            if r and r not in regions:
                regions.append(r)
        for pc in codes:
            r = region_of(pc)
            if r and r not in regions:
                regions.append(r)
        if not regions and area_score:
            best_area = max(area_score, key=lambda a: area_score[a])
            if area_score[best_area] >= 4:
                regions = area_regions(best_area)[0]
    for c in chosen:
        for n in m49_names(c):
            if n not in m49:
                m49.append(n)
    if not m49 and area_score:
        best_area = max(area_score, key=lambda a: area_score[a])
        if area_score[best_area] >= 4:
            m49 = area_regions(best_area)[1]
    if regions:
        ev = first.get(chosen[0]) if chosen else scope.evidence
        out["regions_ilo"] = Value(regions, out["countries"].confidence if chosen else 0.6, ev)
    if m49:
        out["regions_m49"] = Value(m49, out["countries"].confidence if chosen else 0.5,
                                   first.get(chosen[0]) if chosen else None)
    return out


def _cover_country_lines(view: DocView) -> list[tuple[str, Evidence]]:
    """Countries a cover lists on a line of their own ("Angola, Cabo Verde, Guiné-Bissau e
    Timor-Leste"): the countries the object covers, as a coverage field would say."""
    out: list[tuple[str, Evidence]] = []
    pos = 0
    for line in view.text[:COVER_CHARS].split("\n"):
        found = [m for m in find_places(line) if m.iso3]
        if len({m.iso3 for m in found}) >= 2 and not _context(view.text, pos + found[0].start):
            rest = line
            for m in reversed(found):
                rest = rest[: m.start] + rest[m.end:]
            if len(re.findall(r"[^\W\d_]{3,}", rest)) <= 2:
                ev = view.evidence(pos + found[0].start, pos + found[-1].end)
                out.extend((m.iso3, ev) for m in found if m.iso3)
        pos += len(line) + 1
    return out


@lru_cache(maxsize=1)
def _counted_re() -> re.Pattern[str]:
    """"seven (African) countries", "trois pays", "siete países": a count of countries."""
    numbers = [w for c in vocab.load("numbers").values() for w in c.all()]
    nouns = vocab.load("place_words").terms("counted_noun")
    num = "|".join(sorted((re.escape(w) for w in numbers), key=len, reverse=True))
    noun = "|".join(re.escape(w) for w in nouns)
    return re.compile(rf"(?i)(?<!\w)(?P<n>\d{{1,2}}|{num})\s+(?:[\w\u2019'-]+\s+){{0,2}}?(?:{noun})(?!\w)")


@lru_cache(maxsize=1)
def _number_of_word() -> dict[str, int]:
    return {w.lower(): c.get("number") for c in vocab.load("numbers").values() for w in c.all()}


def _counted_countries(view: DocView) -> list[tuple[str, Evidence]]:
    """Countries listed after their count ("in seven African countries namely Botswana, Kenya, …
    and Zambia", "dans trois pays : Bénin, Mali et Niger") on the first pages: when the list
    names exactly as many countries as the count says, these are the countries the object
    covers, as a coverage field would say. A count with fewer or more names is not a list of them."""
    text = view.text[: min(HEAD_CHARS, view.annex_from)]
    out: list[tuple[str, Evidence]] = []
    for m in _counted_re().finditer(text):
        g = m.group("n")
        n = int(g) if g.isdigit() else _number_of_word().get(g.lower())
        if not n or n < 2 or n > MAX_COUNTRIES:
            continue
        rest = text[m.end(): m.end() + 400]
        stop = re.search(r"\.(?:\s|$)|\n|;", rest)
        rest = rest[: stop.start() if stop else len(rest)]
        places = [p for p in find_places(rest) if p.iso3]
        if not places or places[0].start > 40 or _context(text, m.start()):
            continue
        iso = list(dict.fromkeys(p.iso3 for p in places))
        if len(iso) != n:
            continue
        ev = view.evidence(m.start(), m.end() + places[-1].end)
        out.extend((c, ev) for c in iso)
    return out


def _scope(view: DocView, title: str, codes: list[ProjectCode], chosen: list[str],
           area_score: dict[str, float]) -> Value:
    for pc in codes:
        if pc.scope in ("global", "interregional"):
            return Value("global", 0.85, Evidence(None, pc.code))
        if pc.scope == "regional":
            return Value("regional", 0.85, Evidence(None, pc.code))
    cover = view.text[:FRONT_CHARS]
    if any(m.area for m in find_places(title)) and len(chosen) != 1:
        return Value("regional", 0.75, Evidence(1, title[:200]))
    for cls in ("global", "regional", "multi_country"):
        pat = _pattern("scope", cls)
        if pat is None:
            continue
        m = pat.search(title)
        if m:
            return Value(cls, 0.8, Evidence(1, title[:200]))
    gl = _pattern("scope", "global")
    if gl is not None and not chosen:
        m = gl.search(cover)
        if m:
            return Value("global", 0.6, view.evidence(m.start(), m.end()))
    if not chosen:
        if area_score:
            return Value("regional", 0.5, None)
        return Value("global", 0.3, None) if gl is not None and gl.search(view.head) else Value("national", 0.2, None)
    if len(chosen) == 1:
        return Value("national", 0.75, None)
    regions = {ilo_region(c) for c in chosen}
    if len(regions) >= 3:
        return Value("global", 0.55, None)
    return Value("multi_country" if len(chosen) <= 4 else "regional", 0.6, None)


# --- donors -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _donor_patterns() -> dict[str, Phrases | None]:
    return {d: phrase_pattern(names, exact=True) for d, names in _donor_names().items()}


def donors_of(view: DocView, codes: list[ProjectCode]) -> Value | None:
    """Donors named after a funding label ("Donor:", "funded by", "financé par") or in ILO codes."""
    found: dict[str, Evidence] = {}
    labels = _pattern("donor_labels")
    head = view.text[:HEAD_CHARS]
    colon_only = {fold(t) for t in vocab.load("metadata").terms("donor_colon_labels")} \
        if "donor_colon_labels" in vocab.load("metadata") else set()
    if labels is not None:
        for lm in labels.finditer(head):
            seg = head[lm.end(): lm.end() + 120].split("\n")[0]
            if fold(lm.group(0)) in colon_only and not re.match(r"\s*(?:\(s\))?\s*[:：|]", seg):
                continue  # "… and other donors": prose or a list of everyone thanked, not the field
            for donor, pat in _donor_patterns().items():
                if pat is not None and pat.search(seg):
                    found.setdefault(donor, view.evidence(lm.start(), lm.end() + len(seg)))
    for pc in codes:
        if pc.donor and pc.donor not in found:
            found[pc.donor] = Evidence(None, pc.code)
    if not found:
        return None
    first = next(iter(found.values()))
    return Value(list(found), 0.7, first)


# --- helpers -------------------------------------------------------------------------------


def _on_page(view: DocView, year: str) -> Evidence | None:
    """Where the first pages (PDF, DOCX) or the page (HTML, text) show `year` as a date or on a
    dated line, as evidence on a page; None when they do not."""
    first = {p.number for p in view.document.pages[:2]}
    limit = len(view.text)
    if view.document.format in ("pdf", "docx") and first:
        ends = [k for k, pg in enumerate(view.block_pages) if pg not in first]
        limit = view.block_starts[ends[0]] if ends else len(view.text)
    for m in re.finditer(rf"(?<!\d){year}(?!\d)", view.text[:limit]):
        line_start = view.text.rfind("\n", 0, m.start()) + 1
        line = view.text[line_start: m.end() + 20]
        if _date_re().search(line) or ISO_DATE_RE.search(line) or NUMERIC_DATE_RE.search(line) \
                or re.search(r"(?i)\b(date|dated|fecha|data|modifi|issued|publi)", line):
            return view.evidence(m.start(), m.end())
    return None


def _evidence_in(view: DocView, needle: str) -> Evidence:
    i = view.text.find(needle)
    return view.evidence(i, i + len(needle)) if i >= 0 else Evidence(None, needle)


__all__ = ["extract_metadata", "ILO_REGIONS"]
