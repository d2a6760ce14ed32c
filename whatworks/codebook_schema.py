"""The schema of codebook.yaml, as pydantic models of what the user writes.

`whatworks.codebook` turns a validated `CodebookFile` into the `Codebook` the coder and the
synthesis use, after the checks across the file (ids and aliases unique, groups allowed).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from whatworks.local_names import LANGUAGES, LocalNameEntry
from whatworks.validation import OptionalText, Strict, Text, as_text, one_of, problem, shown

#: The four questions of a "what works" synthesis, in the order reports present them.
QUESTIONS = ("what_is_being_done", "what_works", "for_whom", "why")
#: Groups that the synthesis keeps apart, per question.
KNOWN_GROUPS = {
    "for_whom": ("target_groups", "final_beneficiaries"),
    "why": ("success_factors", "challenges"),
}


def _theme_id(value: Any) -> str:
    text = as_text(value)
    if not text.replace("_", "").isalnum() or not text.islower():
        raise problem(f"theme id '{text}': use lower-case letters, digits and underscores, e.g. "
                      f"'{_slug(text)}'")
    return text


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    return "_".join(p for p in out.split("_") if p) or "my_theme"


def _phrase(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("{field} holds " + shown(value) + " where a phrase should be — quote words YAML reads as "
                      "true/false or numbers, such as \"no\", \"yes\", \"on\"")
    text = value.strip()
    if text.startswith("~") or text.endswith("~") or text == "*":
        raise problem(f"{text!r} is not a phrase ('a ~ b' needs words on both sides; '*' ends a word)")
    return text


ThemeId = Annotated[str, BeforeValidator(_theme_id)]
Phrase = Annotated[str, BeforeValidator(_phrase)]
Terms = dict[one_of(LANGUAGES, "language"), list[Phrase]]


class ThemeEntry(Strict):
    id: ThemeId = Field(description="a stable id: lower-case letters, digits and underscores")
    label: Text = Field(description="the theme's name as the synthesis shows it")
    definition: Text = Field(description="what the theme means, in a sentence or two")
    descriptors: Terms = Field(description="keywords and phrases by language: {en: [...], fr: [...]}")
    exclude: Terms = Field({}, description="phrases that cancel a descriptor they overlap")
    aliases: list[ThemeId] = Field([], description="the theme's former ids, so codes stored under them still count")

    @field_validator("descriptors")
    @classmethod
    def _english(cls, descriptors: dict[str, list[str]]) -> dict[str, list[str]]:
        if not descriptors.get("en"):
            raise problem("descriptors need at least the 'en' list — add `en: [a phrase, another]`")
        return descriptors


class GroupEntry(Strict):
    id: Text = Field(description="the group's id, e.g. success_factors")
    label: OptionalText = Field("", description="the group's name as the synthesis shows it")
    description: OptionalText = Field("", description="what the group holds")
    negators: Terms = Field({}, description="words that cancel a hit just after them: {en: [lack, limited]}")
    themes: Annotated[list[ThemeEntry], Field(min_length=1)] = Field(description="the group's themes")


class QuestionEntry(Strict):
    id: one_of(QUESTIONS, "question id") = Field(description=f"one of {', '.join(QUESTIONS)}")
    label: OptionalText = Field("", description="the question as the synthesis shows it")
    ask: OptionalText = Field("", description="the question in full")
    negators: Terms = Field({}, description="words that cancel a hit just after them: {en: [lack, limited]}")
    themes: Annotated[list[ThemeEntry], Field(min_length=1)] | None = Field(None, description="themes")
    groups: Annotated[list[GroupEntry], Field(min_length=1)] | None = Field(None, description="groups of themes")

    @model_validator(mode="after")
    def _has_themes(self) -> QuestionEntry:
        if self.themes is None and self.groups is None:
            raise problem(f"question {self.id} has no 'themes' and no 'groups' — add `themes:` with at least one")
        return self


class CodebookLocalName(LocalNameEntry):
    themes: Annotated[list[ThemeId], Field(min_length=1)] | None = Field(
        None, description="the codebook themes it signals")


class CodebookFile(Strict):
    """codebook.yaml, as written."""

    name: OptionalText = Field("", description="the codebook's short name (default: the file's name)")
    title: OptionalText = Field("", description="the codebook's title")
    version: Annotated[str, BeforeValidator(as_text)] = Field("1", description="a version the user keeps")
    local_names: list[CodebookLocalName] = Field(
        [], description="local programme names and abbreviations: [{name: EI, means: employment insurance}]")
    questions: Annotated[list[QuestionEntry], Field(min_length=1)] = Field(
        description=f"the review questions ({', '.join(QUESTIONS)}), each with themes or groups")
