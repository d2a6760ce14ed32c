"""Optional language-model backend: an OpenAI-compatible chat-completions server you run.

whatworks never downloads a model and never calls a language model unless one is
configured — in the protocol (``llm: {url: http://localhost:11434/v1, model: llama3.1}``)
or in the environment (WHATWORKS_LLM_URL, WHATWORKS_LLM_MODEL, WHATWORKS_LLM_KEY; the
environment wins). Ollama, vLLM and llama.cpp's server all speak this API (docs/llm.md).

What the model says is checked, not trusted: its theme ids must be in the codebook, and
every quote it gives must occur verbatim (after whitespace normalisation) in the item it
codes — a code whose quote does not is dropped and logged. When it writes the synthesis's
statements in prose, each sentence must cite quotes it was given that are still found verbatim in
their sources; a sentence that fails is dropped and listed, and the extractive statement stays.
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from whatworks.codebook import Codebook
from whatworks.text import normalise_space

log = logging.getLogger(__name__)

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
ENV_URL, ENV_MODEL, ENV_KEY = "WHATWORKS_LLM_URL", "WHATWORKS_LLM_MODEL", "WHATWORKS_LLM_KEY"


class LLMError(Exception):
    """The language-model server could not be reached or answered something unusable."""


@dataclass
class LLMConfig:
    url: str  # base URL of the OpenAI-compatible API, e.g. http://localhost:11434/v1
    model: str
    key: str | None = None
    timeout: float = 120.0
    temperature: float = 0.0

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"

    @property
    def is_local(self) -> bool:
        host = (urlparse(self.url).hostname or "").lower()
        return host in LOCAL_HOSTS


def config_from(settings: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> LLMConfig | None:
    """The configured server, or None (the default: no language model)."""
    env = dict(os.environ) if env is None else env
    settings = dict(settings or {})
    url = env.get(ENV_URL) or settings.get("url") or settings.get("base_url")
    model = env.get(ENV_MODEL) or settings.get("model")
    if not url or not model:
        if url or model:
            log.warning("language model not used: both a URL and a model name are needed (set %s and %s, "
                        "or llm: {url, model} in the protocol)", ENV_URL, ENV_MODEL)
        return None
    key = env.get(ENV_KEY) or settings.get("key") or None
    return LLMConfig(url=str(url), model=str(model), key=key,
                     timeout=float(settings.get("timeout", 120.0)),
                     temperature=float(settings.get("temperature", 0.0)))


class LLMClient:
    """Chat completions over HTTP (stdlib urllib: no extra dependency)."""

    def __init__(self, config: LLMConfig):
        self.config = config
        self.requests = 0
        if not config.is_local:
            log.warning("the language model at %s is not on this machine: report text will be sent to it",
                        urlparse(config.url).hostname)

    def chat(self, messages: list[dict[str, str]], *, json_mode: bool = False) -> str:
        body: dict[str, Any] = {"model": self.config.model, "messages": messages,
                                "temperature": self.config.temperature, "stream": False}
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        headers = {"Content-Type": "application/json"}
        if self.config.key:
            headers["Authorization"] = f"Bearer {self.config.key}"
        request = urllib.request.Request(self.config.endpoint, data=json.dumps(body).encode(), headers=headers,
                                         method="POST")
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:  # noqa: S310 - configured URL
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            raise LLMError(f"{self.config.endpoint} answered HTTP {e.code}: {e.read()[:200]!r}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise LLMError(f"cannot reach the language model at {self.config.endpoint}: {e}") from None
        except json.JSONDecodeError as e:
            raise LLMError(f"{self.config.endpoint} did not answer JSON: {e}") from None
        try:
            return payload["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise LLMError(f"{self.config.endpoint} answered without choices[0].message.content") from None


def client_for(protocol) -> LLMClient | None:
    """The review's language model client (the protocol's `llm:` settings, or WHATWORKS_LLM_URL),
    or None when none is configured (the default)."""
    config = config_from(getattr(protocol, "llm", None))
    return LLMClient(config) if config else None


# --- checking what the model says --------------------------------------------------------

_QUOTE_CHARS = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


def verify_quote(quote: str, source: str) -> bool:
    """True when `quote` occurs verbatim in `source` (whitespace normalised; nothing else forgiven)."""
    q = normalise_space(quote)
    return bool(q) and q in normalise_space(source)


def parse_json(content: str) -> Any:
    """The JSON object in a model's answer (code fences and chatter around it tolerated)."""
    text = content.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fence:
        text = fence.group(1)
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise LLMError(f"no JSON in the model's answer: {content[:120]!r}")
    decoder = json.JSONDecoder()
    try:
        value, _ = decoder.raw_decode(text[start:])
    except json.JSONDecodeError as e:
        raise LLMError(f"the model's answer is not valid JSON ({e}): {content[:120]!r}") from None
    return value


# --- coding ---------------------------------------------------------------------------------

CODING_SYSTEM = (
    "You code excerpts of evaluation reports to the themes of a codebook for a systematic review. "
    "Use only theme ids from the codebook. For each theme you assign, copy a short supporting quote "
    "word for word from the excerpt — never paraphrase. Answer with JSON only: "
    '{"codes": [{"theme": "<theme id>", "quote": "<exact words from the excerpt>"}]}. '
    'If no theme applies, answer {"codes": []}.'
)


def codebook_prompt(codebook: Codebook) -> str:
    lines = [f"Codebook: {codebook.title or codebook.name}"]
    for q in codebook.questions:
        lines.append(f"\n## {q.label} {q.ask}".rstrip())
        for t in codebook.themes_for(q.id):
            group = f" [{t.group.replace('_', ' ')}]" if t.group else ""
            lines.append(f"- {t.id}{group}: {t.label} — {t.definition}")
    return "\n".join(lines)


def code_item(client: LLMClient, codebook: Codebook, text: str,
              prompt: str | None = None) -> tuple[list[tuple[str, str]], int]:
    """(theme, quote) pairs the model gives for one item, checked; and how many were dropped."""
    messages = [{"role": "system", "content": CODING_SYSTEM},
                {"role": "user", "content": f"{prompt or codebook_prompt(codebook)}\n\nExcerpt:\n{text}"}]
    answer = parse_json(client.chat(messages, json_mode=True))
    raw = answer.get("codes", []) if isinstance(answer, dict) else answer
    ids = set(codebook.ids)
    kept: list[tuple[str, str]] = []
    dropped = 0
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        theme, quote = str(entry.get("theme", "")).strip(), str(entry.get("quote", "") or "")
        if theme not in ids:
            log.warning("language model gave an unknown theme %r: dropped", theme)
            dropped += 1
            continue
        if not verify_quote(quote, text):
            log.warning("language model quote for %s is not in the item text: dropped (%r)", theme, quote[:100])
            dropped += 1
            continue
        if theme not in {k for k, _ in kept}:
            kept.append((theme, normalise_space(quote)))
    return kept, dropped


def code_with_llm(client: LLMClient, codebook: Codebook,
                  items: list[tuple[str, str, str]]) -> tuple[list[tuple[str, str, str, str]], int]:
    """Code (sha256, item_key, text) items: rows (sha256, item_key, theme, quote) and the count dropped.

    A server error on one item is logged and that item is left to the offline coder.
    """
    prompt = codebook_prompt(codebook)
    rows: list[tuple[str, str, str, str]] = []
    dropped = 0
    for sha, key, text in items:
        try:
            codes, d = code_item(client, codebook, text, prompt)
        except LLMError as e:
            log.warning("language model coding skipped for one item: %s", e)
            continue
        dropped += d
        rows += [(sha, key, theme, quote) for theme, quote in codes]
    return rows, dropped


# --- statements in prose ------------------------------------------------------------------------

WRITER_SYSTEM = (
    "You rewrite one statement of a systematic review of evaluation reports into clear prose for an "
    "evaluation manager (1–3 sentences, English). Use ONLY the numbered quotes given: every sentence "
    "must cite the numbers of the quotes it rests on. Do not add facts, numbers or countries that are "
    "not in the quotes. Name reports only by the ids given (e.g. E2, I-1). If you quote, copy the words "
    "exactly inside double quotation marks. Answer with JSON only: "
    '{"sentences": [{"text": "<sentence>", "cites": [1, 2]}]}'
)

_QUOTED = re.compile(r'"([^"]{8,})"')
_REPORT_ID = re.compile(r"\b(?:E\d+|I-\d+|R\d+)\b")


def write_statements(client: LLMClient, synthesis: Any, pages_of: Any) -> list[dict[str, Any]]:
    """Rewrite each statement of `synthesis` into prose, in place, keeping only sentences whose
    citations check out: each cites quotes that were given, each cited quote is still found
    verbatim in its source (`pages_of(sha256)` → page texts), words it puts in quotation marks are in
    the cited quotes, and it names no report it does not cite. Returns the sentences dropped, with
    why; a statement whose sentences all fail keeps its extractive text."""
    dropped: list[dict[str, Any]] = []
    seen: dict[int, str] = {}
    for statement in synthesis.statements():
        if id(statement) in seen or not statement.citations:
            continue
        seen[id(statement)] = statement.text
        quotes = statement.citations
        lines = [f"Statement: {statement.text}", "Quotes:"]
        lines += [f"[{n}] ({c.report_id}) {c.quote}" for n, c in enumerate(quotes, 1)]
        try:
            answer = parse_json(client.chat([{"role": "system", "content": WRITER_SYSTEM},
                                             {"role": "user", "content": "\n".join(lines)}], json_mode=True))
        except LLMError as e:
            log.warning("language model writer skipped one statement: %s", e)
            continue
        kept = []
        for sentence in (answer.get("sentences") or []) if isinstance(answer, dict) else []:
            text = normalise_space(str(sentence.get("text", ""))) if isinstance(sentence, dict) else ""
            why = _check_sentence(text, sentence.get("cites") if isinstance(sentence, dict) else None, quotes,
                                  pages_of)
            if why:
                dropped.append({"statement": statement.text, "sentence": text, "reason": why})
                log.warning("language model sentence dropped (%s): %r", why, text[:100])
            else:
                kept.append(text)
        if kept:
            statement.text = " ".join(kept)
            statement.source = "llm"
    return dropped


def _check_sentence(text: str, cites: Any, quotes: list[Any], pages_of: Any) -> str | None:
    """Why the sentence fails the citation check, or None when it passes."""
    if not text:
        return "empty sentence"
    if not isinstance(cites, list) or not cites:
        return "cites no quote"
    try:
        cited = [quotes[int(n) - 1] for n in cites]
    except (ValueError, TypeError, IndexError):
        return f"cites a quote that was not given ({cites})"
    for c in cited:
        if not any(verify_quote(c.quote, page) for page in pages_of(c.sha256)):
            return f"quote of {c.report_id} not found verbatim in its source"
    pool = " ".join(c.quote for c in cited).translate(_QUOTE_CHARS)
    for quoted in _QUOTED.findall(text.translate(_QUOTE_CHARS)):
        if not verify_quote(quoted, pool):
            return "puts words in quotation marks that the cited quotes do not hold"
    unknown = set(_REPORT_ID.findall(text)) - {c.report_id for c in cited}
    if unknown:
        return f"names reports it does not cite ({', '.join(sorted(unknown))})"
    return None
