"""whatworks.text: one folding, word, stemming, sentence and heading rule for every stage."""

from __future__ import annotations

import pytest

from whatworks.text import (
    fold,
    fold_word,
    normalise_space,
    normalize_heading,
    sentences,
    split_number,
    stem,
    stem_text,
    tokens,
    words,
)


def test_fold_is_one_character_for_one():
    text = "Évaluation\u00a0à mi‑parcours — l’équipe\nÇA"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded == "evaluation a mi-parcours - l'equipe ca"


def test_words_spell_ligatures_out_and_keep_spans():
    assert words("Mise en Œuvre ﬁnale, l’évaluation") == ["mise", "en", "oeuvre", "finale", "l", "evaluation"]
    text = "La protección social"
    word, start, end = tokens(text)[1]
    assert word == "proteccion" and text[start:end] == "protección"


@pytest.mark.parametrize("lang, forms", [
    ("en", ["recommendations", "recommendation", "recommended"]),
    ("fr", ["recommandations", "recommandation", "recommandé"]),
    ("es", ["recomendaciones", "recomendación", "recomendacion"]),
    ("pt", ["recomendações", "recomendação", "recomendacoes", "recomendar"]),
    ("pt", ["pensões", "pensão", "pensoes"]),
    ("es", ["mujeres", "mujer"]),
])
def test_snowball_stems_meet_with_or_without_accents(lang, forms):
    assert len({stem(fold_word(f), lang) for f in forms}) == 1


def test_other_languages_and_unknown_ones():
    assert stem("arbeiten", "de") == stem("arbeit", "de")  # Snowball's German, asked for
    assert stem("evaluations", "xx") == "evaluations"  # no stemmer: the folded word
    assert stem("2023", "en") == "2023"
    assert stem_text("Les évaluations finales", "fr") == "le evalu final"


@pytest.mark.parametrize("lang, text, expected", [
    ("fr", "M. Dupont a dit oui. Il est parti.", ["M. Dupont a dit oui.", "Il est parti."]),
    ("pt", "O Sr. Silva, p. ex., disse. O n.º 5 do art. 3 aplica-se. Dr. Costa saiu.",
     ["O Sr. Silva, p. ex., disse.", "O n.º 5 do art. 3 aplica-se.", "Dr. Costa saiu."]),
    ("es", "El Sr. García llegó. Ver art. 5 del código. Todo bien.",
     ["El Sr. García llegó.", "Ver art. 5 del código.", "Todo bien."]),
    ("en", "Dr. Smith went home. Finding 2. The results are good.",
     ["Dr. Smith went home.", "Finding 2.", "The results are good."]),
])
def test_sentences_are_verbatim_and_abbreviations_do_not_end_them(lang, text, expected):
    got = sentences(text, lang)
    assert got == expected
    assert all(s in text for s in got)


def test_sentences_of_an_unknown_language_and_of_nothing():
    assert sentences("Hello world", "xx") == ["Hello world"]
    assert sentences("   ", "en") == []


def test_space_and_headings():
    assert normalise_space(" a\n\tb\u00ad c ") == "a b c"
    assert split_number("4.2 Relevance") == ("Relevance", "4.2")
    assert split_number("• Key findings") == ("Key findings", None)
    assert normalize_heading("Conclusions & Recommendations3") == "conclusions and recommendations"
    assert normalize_heading("Mise en œuvre") == "mise en oeuvre"
