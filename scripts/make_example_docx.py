"""Write the two DOCX example reports (run once; the .docx files are committed).

    python scripts/make_example_docx.py

The reports are kept here, in a small markup, rather than as Markdown files beside
the DOCX, so that `whatworks review` on this folder does not read each report twice.
Markup, one paragraph a line: "# " / "## " / "### " headings, "- " bullets, "| a | b |"
table rows (the first row of a table is its header), "**Lead.** rest" a bold lead,
"=PAGE=" a page break, "=TITLE= " the title; anything else is a normal paragraph.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.text import WD_BREAK
from docx.shared import Pt

HERE = Path(__file__).resolve().parent.parent / "whatworks" / "data" / "examples"

ZAMBIA = """\
=TITLE= Extending social security to domestic workers in Zambia and the United Republic of Tanzania
Final independent evaluation
Project title: Extending social security to domestic workers in Zambia and the United Republic of Tanzania
TC/SYMBOL: RAF/12/07/IRL
Type of evaluation: Final independent evaluation
Countries: Zambia, United Republic of Tanzania
Date of the evaluation: February – April 2014
Name of evaluator: Grace Mwansa-Kaunda, independent consultant
ILO Administrative Office: ILO Country Office for Zambia, Malawi and Mozambique, Lusaka
ILO Technical Backstopping Office: Social Protection Department (SOCPRO); Conditions of Work and Equality Department
Donor and budget: Irish Aid, US$ 1,350,000
Project duration: January 2012 – March 2014
Year: 2014
=PAGE=
# Table of contents
Executive summary ........................................ 3
1. Background ............................................. 4
2. Methodology ............................................ 4
3. Findings ............................................... 5
4. Conclusions ............................................ 7
5. Recommendations ........................................ 7
6. Lessons learnt ......................................... 8
7. Emerging good practices ................................ 8
Annex 1: ILO Lesson Learned Templates ...................... 9
Annex 2: ILO Emerging Good Practice Template ............... 10
Annex 3: List of persons met ............................... 10
=PAGE=
# Executive summary
The project "Extending social security to domestic workers in Zambia and the United Republic of Tanzania" (RAF/12/07/IRL) was funded by Irish Aid and implemented by the ILO from January 2012 to March 2014. Its objective was to enable domestic workers, most of them women working in the informal economy, to join national social security schemes, in line with the Domestic Workers Convention, 2011 (No. 189).
The evaluation found that the project was highly relevant and achieved its main outputs: a legal review in both countries, a simplified registration procedure in Zambia, and an awareness campaign that reached an estimated 40,000 domestic workers and employers. Actual registration of domestic workers remained low, because contributions are not enforced in private households and many employers are unaware of their obligations. The participatory approach with the domestic workers' unions and the presence of national coordinators were key success factors. The short duration and the absence of a strategy for enforcement limited impact.
The evaluation makes five recommendations on enforcement, simplified contribution collection, the role of the unions, data, and a follow-up phase.
=PAGE=
# 1. Background
Domestic work is one of the largest sources of employment for women in Zambia and Tanzania. The 2012 Labour Force Survey estimated 160,000 domestic workers in Zambia and the Integrated Labour Force Survey over 880,000 in Tanzania, most of them rural women who migrated to cities. Very few are covered by social security: the National Pension Scheme Authority (NAPSA) in Zambia and the National Social Security Fund (NSSF) in Tanzania were designed for workers in formal enterprises.
The project had two immediate objectives: (1) the legal and policy frameworks of both countries provide for the social security coverage of domestic workers; and (2) social security institutions, employers and domestic workers have the knowledge and tools to register domestic workers and pay contributions. It worked with the ministries of labour, NAPSA and NSSF, the Zambia United Local Authorities Workers Union, the Conservation, Hotels, Domestic and Allied Workers Union (CHODAWU) in Tanzania, and the employers' federations.
# 2. Methodology
The evaluation reviewed 48 project documents and conducted 41 interviews and four focus group discussions with 37 domestic workers (34 women) in Lusaka, Kitwe, Dar es Salaam and Zanzibar. A validation workshop with the tripartite constituents was held in Lusaka on 2 April 2014. The lack of baseline data on the coverage of domestic workers was the main limitation.
=PAGE=
# 3. Findings
## 3.1 Relevance
**Finding 1:** The project responded to a clear gap in the social security coverage of domestic workers and was aligned with the Decent Work Country Programmes of both countries and with Convention No. 189.
Zambia had just included domestic workers in the minimum wage order, and Tanzania's social protection policy called for the extension of coverage to the informal economy. Domestic workers' unions described social security as their members' second priority after wages.
**Finding 2:** The design correctly targeted both institutions and employers, but it underestimated the difficulty of enforcing contributions in private households.
## 3.2 Effectiveness
**Finding 3:** The legal reviews were completed and validated in both countries, and Zambia adopted a simplified registration form for employers of domestic workers in 2013.
**Finding 4:** The awareness campaign reached an estimated 40,000 domestic workers and employers through radio, union meetings and leaflets in local languages, but registration increased only from about 900 to 3,100 domestic workers in Zambia and remained negligible in Tanzania.
## 3.3 Efficiency
**Finding 5:** The project used its resources efficiently thanks to the local ILO presence and cost-sharing with NAPSA; delays in the Tanzanian procurement process and the departure of the coordinator in 2013 slowed activities there.
## 3.4 Impact and sustainability
**Finding 6:** Domestic workers who registered gained access to retirement and survivors' benefits, and the unions now include social security in their organizing work; without an enforcement strategy, however, the gains are unlikely to grow after the end of the project.
=PAGE=
# 4. Conclusions
**Conclusion 1.** The project demonstrated that domestic workers can be registered in national social security schemes when procedures are simplified and unions are involved.
**Conclusion 2.** Awareness alone does not change employer behaviour: enforcement and incentives are needed to make registration the norm.
**Conclusion 3.** Two years were too short for a project that required legal change, institutional change and behaviour change in two countries.
# 5. Recommendations
**Recommendation 1:** Develop, with NAPSA and the labour inspectorate, an enforcement strategy for the registration of domestic workers, including household inspections on complaint and penalties for non-registration.
Addressed to: Ministry of Labour and Social Security (Zambia); NAPSA; ILO Lusaka
Priority: High
Timeframe: 2014–2015
Resources: Medium; labour inspection budget
**Recommendation 2:** Introduce a simplified contribution collection mechanism, such as mobile-phone payments or vouchers, that makes it easy for households to pay contributions.
Addressed to: NAPSA; NSSF Tanzania
Priority: High
Timeframe: 2015
Resources: Medium
**Recommendation 3:** Strengthen the domestic workers' unions so that they can register members, follow up complaints and negotiate with employers.
Addressed to: ILO; workers' organizations
Priority: Medium
Timeframe: Next phase
Resources: Low
**Recommendation 4:** Collect and publish data on the number of domestic workers registered, disaggregated by sex and age, to monitor progress.
Addressed to: NAPSA; NSSF Tanzania; national statistics offices
Priority: Medium
Timeframe: 2014–2016
Resources: Low
**Recommendation 5:** Seek funding for a second phase of at least four years that combines enforcement, simplified collection and organizing, and extends the approach to Malawi.
Addressed to: ILO Lusaka; Irish Aid
Priority: Medium
Timeframe: 2014
Resources: High; new donor funding
=PAGE=
# 6. Lessons learnt
The evaluation identified the following lessons:
Extending social security to workers in private households requires action on enforcement and on contribution collection at the same time as awareness raising; information campaigns alone leave registration rates unchanged.
Involving domestic workers' unions from the design stage gives the project access to a hard-to-reach, mostly female workforce and builds the demand for coverage.
# 7. Emerging good practices
The simplified registration form for employers of domestic workers, developed with NAPSA and the unions in Zambia, reduced the time to register a worker from several visits to a single visit and can be replicated in other countries of the region.
=PAGE=
# Annex 1: ILO Lesson Learned Templates
## ILO Lesson Learned Template
Project Title: Extending social security to domestic workers in Zambia and the United Republic of Tanzania
Project TC/SYMBOL: RAF/12/07/IRL
Name of Evaluator: Grace Mwansa-Kaunda
Date: 15 April 2014
| LL Element | Text |
| Brief description of lesson learned (link to specific action or task) | Extending social security to workers in private households requires action on enforcement and on contribution collection at the same time as awareness raising; information campaigns alone leave registration rates unchanged. |
| Context and any related preconditions | Domestic workers are employed by individual households that are rarely inspected and often unaware of their obligations as employers. |
| Targeted users / Beneficiaries | Social security institutions, labour inspectorates, ILO project designers; domestic workers, mostly women. |
| Challenges /negative lessons - Causal factors | Registration in Tanzania remained negligible because there was no enforcement and contributions had to be paid at a branch office. |
| Success / Positive Issues - Causal factors | Where a simplified form was available, as in Zambia, registrations tripled. |
| ILO Administrative Issues (staff, resources, design, implementation) | Future designs should budget for work with labour inspectorates. |
| Other elements of LL | None. |
## ILO Lesson Learned Template
Project Title: Extending social security to domestic workers in Zambia and the United Republic of Tanzania
Project TC/SYMBOL: RAF/12/07/IRL
Name of Evaluator: Grace Mwansa-Kaunda
Date: 15 April 2014
| LL Element | Text |
| Brief description of lesson learned (link to specific action or task) | Involving domestic workers' unions from the design stage gives the project access to a hard-to-reach, mostly female workforce and builds the demand for coverage. |
| Context and any related preconditions | Domestic workers' unions existed in both countries but had little experience of social security. |
| Targeted users / Beneficiaries | Workers' organizations, ILO project managers; domestic workers. |
| Challenges /negative lessons - Causal factors | The unions had few full-time staff and depended on project funds for outreach. |
| Success / Positive Issues - Causal factors | Union meetings were the most effective channel of the awareness campaign, according to the focus groups. |
| ILO Administrative Issues (staff, resources, design, implementation) | Support to union capacity should be a separate output with its own budget. |
| Other elements of LL | N/A |
# Annex 2: ILO Emerging Good Practice Template
## ILO Emerging Good Practice Template
Project Title: Extending social security to domestic workers in Zambia and the United Republic of Tanzania
Project TC/SYMBOL: RAF/12/07/IRL
Name of Evaluator: Grace Mwansa-Kaunda
Date: 15 April 2014
| GP Element | Text |
| Brief summary of the good practice (link to project goal or specific deliverable, background, purpose, etc.) | The simplified registration form for employers of domestic workers, developed with NAPSA and the unions in Zambia, reduced the time to register a worker from several visits to a single visit and can be replicated in other countries of the region. |
| Relevant conditions and Context: limitations or advice in terms of applicability and replicability | Requires the social security institution to accept households as employers and to adapt its forms; works best with union support. |
| Establish a clear cause-effect relationship | Fewer documents and a single visit removed the main practical barrier mentioned by employers. |
| Indicate measurable impact and targeted beneficiaries | Registered domestic workers in Zambia rose from about 900 to 3,100 between 2012 and 2014. |
| Potential for replication and by whom | NSSF Tanzania, and social security institutions in Malawi and Mozambique. |
| Upward links to higher ILO Goals (DWCPs, Country Programme Outcomes or ILO's Strategic Programme Framework) | Zambia DWCP outcome on social protection; Convention No. 189; ILO outcome on extending social security. |
| Other documents or relevant comments | NAPSA registration form for domestic workers (2013). |
# Annex 3: List of persons met
- Ministry of Labour and Social Security, Zambia: Permanent Secretary, Director of Social Security
- National Pension Scheme Authority (NAPSA): Compliance and Registration Unit
- Zambia Federation of Employers; Zambia Congress of Trade Unions
- Ministry of Labour and Employment, Tanzania; NSSF Tanzania
- CHODAWU; Association of Tanzania Employers
- Domestic workers in Lusaka, Kitwe, Dar es Salaam and Zanzibar (four focus groups)
- ILO Country Offices in Lusaka and Dar es Salaam
"""

PARAGUAY = """\
=TITLE= Apoyo a la construcción de un piso de protección social en Paraguay
Evaluación final independiente
Título del proyecto: Apoyo a la construcción de un piso de protección social en Paraguay
Código del proyecto (TC/SYMBOL): PAR/15/01/EUR
Tipo de evaluación: Evaluación final independiente
País: Paraguay
Fechas de la evaluación: junio – agosto de 2017
Nombre del evaluador: Martín Echeverría Ruiz, consultor independiente
Oficina administrativa de la OIT: Oficina de la OIT para los Países del Cono Sur de América Latina, Santiago
Oficina de apoyo técnico: Departamento de Protección Social (SOCPRO)
Donante y presupuesto: Unión Europea, EUR 1.800.000
Duración del proyecto: marzo de 2015 – septiembre de 2017
Año: 2017
=PAGE=
# Índice
Resumen ejecutivo .......................................... 3
1. Antecedentes ............................................. 4
2. Metodología de la evaluación ............................. 4
3. Principales hallazgos .................................... 5
4. Conclusiones ............................................. 7
5. Recomendaciones .......................................... 7
6. Lecciones aprendidas ..................................... 8
7. Buenas prácticas emergentes .............................. 8
Anexos ..................................................... 9
=PAGE=
# Resumen ejecutivo
El proyecto "Apoyo a la construcción de un piso de protección social en Paraguay" (PAR/15/01/EUR), financiado por la Unión Europea, acompañó al Gobierno de Paraguay y a los actores sociales entre 2015 y 2017 en el diseño de un sistema de protección social que garantice un nivel básico de seguridad económica y acceso a la salud a lo largo del ciclo de vida, conforme a la Recomendación sobre los pisos de protección social, 2012 (núm. 202).
La evaluación concluye que el proyecto fue muy pertinente y que contribuyó a la adopción del enfoque de piso de protección social en la planificación nacional, gracias al diálogo nacional basado en una evaluación (ABND) y a un enfoque participativo. La inestabilidad institucional, la rotación de autoridades y un diseño demasiado ambicioso limitaron la implementación de las medidas priorizadas. Los trabajadores de la economía informal, las mujeres rurales y las personas mayores sin pensión son los principales beneficiarios potenciales.
Se formulan cinco recomendaciones dirigidas a la OIT, al Gobierno y a los interlocutores sociales.
=PAGE=
# 1. Antecedentes
Paraguay tiene una de las tasas de informalidad laboral más altas de América Latina: alrededor del 65 por ciento de los ocupados no cotiza a la seguridad social. El Instituto de Previsión Social (IPS) cubre principalmente a asalariados urbanos, y los programas no contributivos, como la pensión alimentaria para adultos mayores y el programa de transferencias Tekoporã, tienen una cobertura limitada en las zonas rurales.
El proyecto tenía dos objetivos inmediatos: (1) el Gobierno y los actores sociales disponen de un diagnóstico de las brechas de protección social y de escenarios de costos para cerrarlas; y (2) las instituciones nacionales cuentan con capacidades para coordinar un sistema de protección social integrado. Su contraparte principal fue el Gabinete Social de la Presidencia, junto con el Ministerio de Trabajo, Empleo y Seguridad Social, el IPS, las centrales sindicales y la Federación de la Producción, la Industria y el Comercio (FEPRINCO).
# 2. Metodología de la evaluación
La evaluación combinó una revisión de 63 documentos, 38 entrevistas semiestructuradas (21 mujeres) en Asunción, Concepción y Caaguazú, dos grupos focales con trabajadoras domésticas y productoras rurales, y un taller de validación tripartito el 10 de agosto de 2017. La principal limitación fue la ausencia de una línea de base y la rotación de funcionarios entrevistados.
=PAGE=
# 3. Principales hallazgos
## 3.1 Pertinencia
**Hallazgo 1.** El proyecto fue muy pertinente para las prioridades nacionales: el Plan Nacional de Desarrollo Paraguay 2030 incluye la protección social como eje y el Gobierno solicitó expresamente el apoyo de la OIT.
**Hallazgo 2.** El enfoque de ciclo de vida respondió a las necesidades de grupos excluidos, en particular las mujeres rurales, los trabajadores de la economía informal y las personas mayores sin pensión.
## 3.2 Validez del diseño
**Hallazgo 3.** El diseño fue demasiado ambicioso para un proyecto de 30 meses: suponía la aprobación de una ley de protección social, que no dependía del proyecto.
## 3.3 Eficacia
**Hallazgo 4.** El diálogo nacional basado en una evaluación (ABND) se completó con la participación de 24 instituciones y de los interlocutores sociales, y sus escenarios de costos fueron validados en 2016.
**Hallazgo 5.** La coordinación interinstitucional mejoró con la creación de una mesa técnica de protección social, pero los cambios de autoridades en el Gabinete Social interrumpieron su funcionamiento durante cinco meses.
## 3.4 Eficiencia
**Hallazgo 6.** Los recursos se utilizaron de manera eficiente y la presencia local de la OIT, con un coordinador nacional en Asunción, facilitó la relación con las instituciones; los procedimientos administrativos de la OIT retrasaron algunas contrataciones.
## 3.5 Orientación hacia el impacto y sostenibilidad
**Hallazgo 7.** El sistema de protección social "¡Vamos!" adoptado por el Gobierno en 2018 retoma el diagnóstico y la propuesta de piso del proyecto, lo que indica una apropiación nacional que favorece la sostenibilidad.
=PAGE=
# 4. Conclusiones
1. El proyecto contribuyó a instalar el concepto de piso de protección social en la agenda pública paraguaya y a generar consenso técnico sobre las brechas de cobertura.
2. El diálogo nacional basado en una evaluación fue una herramienta eficaz para promover el tripartismo y la participación de las instituciones.
3. La inestabilidad institucional y la rotación de autoridades fueron los principales obstáculos externos.
4. El diseño sobrestimó lo que un proyecto de cooperación técnica puede lograr en materia legislativa en 30 meses.
# 5. Recomendaciones
1. Acompañar al Gabinete Social en la implementación gradual del sistema de protección social, priorizando la extensión de la pensión para adultos mayores en zonas rurales.
Dirigida a: OIT; Gabinete Social de la Presidencia | Prioridad: alta | Plazo: 2018–2019 | Recursos: medios
2. Diseñar mecanismos de afiliación simplificada al IPS para trabajadores de la economía informal y trabajadoras domésticas, incluidos los monotributistas.
Dirigida a: IPS; Ministerio de Trabajo, Empleo y Seguridad Social | Prioridad: alta | Plazo: 2018–2020 | Recursos: medios
3. Institucionalizar la mesa técnica de protección social mediante un decreto que garantice su continuidad ante cambios de autoridades.
Dirigida a: Gobierno de Paraguay | Prioridad: media | Plazo: 2018 | Recursos: bajos
4. Fortalecer la capacidad de las centrales sindicales y de FEPRINCO para participar en el seguimiento del sistema de protección social.
Dirigida a: OIT; interlocutores sociales | Prioridad: media | Plazo: próxima fase | Recursos: bajos
5. En futuros proyectos, definir objetivos alcanzables en el plazo previsto e incluir un análisis de riesgos políticos e institucionales.
Dirigida a: OIT; Unión Europea | Prioridad: media | Plazo: diseño de la próxima fase | Recursos: bajos
=PAGE=
# 6. Lecciones aprendidas
**Lección aprendida 1:** Un diálogo nacional basado en una evaluación, con participación tripartita desde el inicio, genera consensos técnicos que sobreviven a los cambios de gobierno.
**Lección aprendida 2:** Los proyectos que dependen de reformas legislativas deben prever productos intermedios alcanzables, para no depender exclusivamente del calendario político.
# 7. Buenas prácticas emergentes
**Buena práctica 1:** La mesa técnica de protección social, que reúne a las instituciones de salud, trabajo, desarrollo social y previsión, permitió por primera vez una planificación coordinada de la protección social a lo largo del ciclo de vida.
=PAGE=
# Anexo 1. Plantilla de lección aprendida de la OIT
## Plantilla de lección aprendida de la OIT
Título del proyecto: Apoyo a la construcción de un piso de protección social en Paraguay
Símbolo del proyecto: PAR/15/01/EUR
Nombre del evaluador: Martín Echeverría Ruiz
Fecha: 25 de agosto de 2017
| Elemento | Texto |
| Breve descripción de la lección aprendida (vínculo con una acción o tarea específica) | Un diálogo nacional basado en una evaluación, con participación tripartita desde el inicio, genera consensos técnicos que sobreviven a los cambios de gobierno. |
| Contexto y condiciones previas relacionadas | Paraguay atravesó cambios frecuentes de autoridades en el Gabinete Social durante el proyecto. |
| Usuarios destinatarios / Beneficiarios | OIT, Gabinete Social, interlocutores sociales; personas mayores, mujeres rurales y trabajadores informales. |
| Desafíos / lecciones negativas - Factores causales | La rotación de autoridades interrumpió la mesa técnica durante cinco meses. |
| Éxitos / Aspectos positivos - Factores causales | Los escenarios de costos validados por todas las partes fueron retomados por el nuevo gobierno. |
| Cuestiones administrativas de la OIT (personal, recursos, diseño, implementación) | Ninguna. |
| Otros elementos de la lección aprendida | N/A |
## Plantilla de lección aprendida de la OIT
Título del proyecto: Apoyo a la construcción de un piso de protección social en Paraguay
Símbolo del proyecto: PAR/15/01/EUR
Nombre del evaluador: Martín Echeverría Ruiz
Fecha: 25 de agosto de 2017
| Elemento | Texto |
| Breve descripción de la lección aprendida (vínculo con una acción o tarea específica) | Los proyectos que dependen de reformas legislativas deben prever productos intermedios alcanzables, para no depender exclusivamente del calendario político. |
| Contexto y condiciones previas relacionadas | El proyecto suponía la aprobación de una ley de protección social en 30 meses. |
| Usuarios destinatarios / Beneficiarios | Diseñadores de proyectos de la OIT y donantes. |
| Desafíos / lecciones negativas - Factores causales | El objetivo legislativo no se alcanzó y el informe final tuvo que explicar una brecha que el proyecto no controlaba. |
| Éxitos / Aspectos positivos - Factores causales | Los productos técnicos (diagnóstico, costos) fueron útiles aunque la ley no se aprobara. |
| Cuestiones administrativas de la OIT (personal, recursos, diseño, implementación) | Revisar el marco lógico en la evaluación de medio término. |
| Otros elementos de la lección aprendida | Ninguno. |
# Anexo 2. Plantilla de buena práctica emergente de la OIT
## Plantilla de buena práctica emergente de la OIT
Título del proyecto: Apoyo a la construcción de un piso de protección social en Paraguay
Símbolo del proyecto: PAR/15/01/EUR
Nombre del evaluador: Martín Echeverría Ruiz
Fecha: 25 de agosto de 2017
| Elemento | Texto |
| Breve resumen de la buena práctica (vínculo con el objetivo del proyecto o un producto específico, antecedentes, propósito, etc.) | La mesa técnica de protección social, que reúne a las instituciones de salud, trabajo, desarrollo social y previsión, permitió por primera vez una planificación coordinada de la protección social a lo largo del ciclo de vida. |
| Condiciones y contexto pertinentes: limitaciones o consejos en términos de aplicabilidad y replicabilidad | Requiere un mandato político claro y una secretaría técnica estable. |
| Establecer una clara relación causa-efecto | La mesa permitió acordar un único diagnóstico y evitar duplicaciones entre programas. |
| Indicar el impacto medible y los beneficiarios destinatarios | Doce instituciones adoptaron un plan de trabajo común en 2017. |
| Potencial de réplica y por quién | Otros países del Cono Sur que construyen sistemas de protección social. |
| Vínculos con objetivos superiores de la OIT (PTDP, resultados de programas de país o Marco Estratégico de la OIT) | Resultado de país PRY 102 sobre protección social; Recomendación núm. 202. |
| Otros documentos o comentarios pertinentes | Actas de la mesa técnica (2016–2017). |
# Anexo 3. Lista de personas entrevistadas
- Gabinete Social de la Presidencia de la República
- Ministerio de Trabajo, Empleo y Seguridad Social
- Instituto de Previsión Social (IPS)
- Secretaría de Acción Social; Ministerio de Hacienda
- Central Unitaria de Trabajadores Auténtica (CUT-A); Central Nacional de Trabajadores (CNT)
- Federación de la Producción, la Industria y el Comercio (FEPRINCO)
- Delegación de la Unión Europea en Paraguay; Oficina de la OIT en Santiago
"""

BOLD_LEAD = re.compile(r"^\*\*(.+?)\*\*\s*(.*)$")


def build(markup: str, path: Path, title: str, author: str, year: int, language: str) -> None:
    doc = Document()
    doc.styles["Normal"].font.size = Pt(11)
    table = None
    for line in markup.splitlines():
        line = line.rstrip()
        if not line:
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if table is None:
                table = doc.add_table(rows=0, cols=len(cells))
                table.style = "Table Grid"
                header = True
            else:
                header = False
            row = table.add_row().cells
            for cell, text in zip(row, cells, strict=True):
                run = cell.paragraphs[0].add_run(text)
                run.bold = header
            continue
        table = None
        if line == "=PAGE=":
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        elif line.startswith("=TITLE= "):
            doc.add_paragraph(line[8:], style="Title")
        elif line.startswith("### "):
            doc.add_heading(line[4:], level=3)
        elif line.startswith("## "):
            doc.add_heading(line[3:], level=2)
        elif line.startswith("# "):
            doc.add_heading(line[2:], level=1)
        elif line.startswith("- "):
            doc.add_paragraph(line[2:], style="List Bullet")
        elif m := BOLD_LEAD.match(line):
            p = doc.add_paragraph()
            p.add_run(m.group(1)).bold = True
            if m.group(2):
                p.add_run(" " + m.group(2))
        else:
            doc.add_paragraph(line)
    props = doc.core_properties
    props.title = title
    props.author = author
    props.language = language
    props.created = props.modified = datetime(year, 6, 30, 12, 0, 0)
    props.last_modified_by = author
    props.revision = 1
    doc.save(path)


def main() -> None:
    build(ZAMBIA, HERE / "en_zambia_tanzania_domestic_workers_2014.docx",
          "Extending social security to domestic workers in Zambia and the United Republic of Tanzania",
          "Grace Mwansa-Kaunda", 2014, "en-GB")
    build(PARAGUAY, HERE / "es_paraguay_piso_proteccion_social_2017.docx",
          "Apoyo a la construcción de un piso de protección social en Paraguay",
          "Martín Echeverría Ruiz", 2017, "es-PY")


if __name__ == "__main__":
    main()
