"""The optional language-model backend, against a real local HTTP server answering recorded responses."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from whatworks.codebook import load_codebook
from whatworks.llm import (
    LLMClient,
    LLMConfig,
    LLMError,
    client_for,
    code_with_llm,
    config_from,
    parse_json,
    verify_quote,
    write_statements,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "llm" / "responses.json"
EXAMPLE = ROOT / "whatworks" / "data" / "examples" / "en_asean_unemployment_insurance_final_2018.md"


class _Recorded(BaseHTTPRequestHandler):
    responses: list[dict] = []
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        prompt = body["messages"][-1]["content"]
        content = next((r["content"] for r in self.responses if r["match"] in prompt), '{"codes": []}')
        payload = json.dumps({"id": "rec", "object": "chat.completion", "model": body["model"],
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                           "finish_reason": "stop"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    _Recorded.responses = json.loads(FIXTURES.read_text(encoding="utf-8"))["responses"]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorded)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def client(server):
    _Recorded.seen = []
    return LLMClient(LLMConfig(url=server, model="recorded-model", key="secret-key", timeout=10))


def _items(*starts: str) -> list[tuple[str, str, str]]:
    text = EXAMPLE.read_text(encoding="utf-8")
    out = []
    for start in starts:
        line = next(line for line in text.splitlines() if start in line)
        sentence = line[line.index(start):].strip()
        out.append(("sha", f"key{len(out)}", sentence))
    return out


def test_nothing_runs_unless_configured(monkeypatch, tmp_path):
    for name in ("WHATWORKS_LLM_URL", "WHATWORKS_LLM_MODEL", "WHATWORKS_LLM_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert config_from(None) is None
    assert config_from({"url": "http://localhost:11434/v1"}) is None  # a model is needed too
    from whatworks.api import Review

    with Review.create(tmp_path / "review", "ilo-social-protection") as review:
        assert client_for(review.protocol) is None


def test_environment_overrides_the_protocol():
    env = {"WHATWORKS_LLM_URL": "http://127.0.0.1:8000/v1", "WHATWORKS_LLM_MODEL": "qwen", "WHATWORKS_LLM_KEY": "k"}
    cfg = config_from({"url": "http://localhost:11434/v1", "model": "llama3.1"}, env)
    assert (cfg.url, cfg.model, cfg.key) == ("http://127.0.0.1:8000/v1", "qwen", "k")
    assert cfg.endpoint == "http://127.0.0.1:8000/v1/chat/completions"
    assert config_from({"url": "http://localhost:11434/v1", "model": "llama3.1"}, {}).model == "llama3.1"


@pytest.mark.parametrize("url, warns", [("http://localhost:11434/v1", False), ("http://127.0.0.1:8000/v1", False),
                                        ("http://[::1]:8080/v1", False), ("https://api.example.org/v1", True),
                                        ("http://10.0.0.5:8000/v1", True)])
def test_warns_when_the_server_is_not_on_this_machine(caplog, url, warns):
    with caplog.at_level(logging.WARNING, logger="whatworks.llm"):
        LLMClient(LLMConfig(url=url, model="m"))
    assert ("not on this machine" in caplog.text) is warns


def test_codes_are_checked_and_fabricated_quotes_dropped(client, caplog):
    codebook = load_codebook("ilo-social-protection")
    items = _items("Cambodia and Myanmar completed feasibility studies and actuarial valuations",
                   "Resources were used efficiently and the national coordinators were",
                   "Peer-to-peer learning through study visits")
    with caplog.at_level(logging.WARNING, logger="whatworks.llm"):
        rows, dropped = code_with_llm(client, codebook, items)
    got = {(key, theme): quote for _, key, theme, quote in rows}
    assert set(got) == {("key0", "ch_political_context"), ("key0", "technical_assistance"),
                        ("key1", "ch_management_resources"), ("key2", "ww_peer_learning")}
    assert got[("key0", "technical_assistance")] == "completed feasibility studies and actuarial valuations"
    assert dropped == 2  # the fabricated quote and the unknown theme
    assert "not in the item text" in caplog.text and "unknown theme" in caplog.text
    for (key, _), quote in got.items():
        assert verify_quote(quote, next(t for _, k, t in items if k == key))
    request = _Recorded.seen[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "recorded-model"
    assert request["auth"] == "Bearer secret-key"
    assert "ch_political_context" in request["body"]["messages"][-1]["content"]  # the codebook is in the prompt


def test_code_stage_stores_llm_codes_beside_the_offline_ones(client, tmp_path):
    from whatworks.api import Review
    from whatworks.coding import effective_codes
    from whatworks.store import codes as codes_store

    files = tmp_path / "reports"
    files.mkdir()
    shutil.copy(EXAMPLE, files / EXAMPLE.name)
    with Review.create(tmp_path / "review", "ilo-social-protection") as review:
        review.add([files], jobs=1)
        summary = review.code(all_items=True, llm=client)
        assert summary.llm_codes == 4 and summary.llm_dropped_quotes == 2
        rows = codes_store.code_rows(review.store)
        llm_rows = [r for r in rows if r["engine"] == "llm"]
        assert {r["theme"] for r in llm_rows} == {"ch_political_context", "technical_assistance",
                                                  "ch_management_resources", "ww_peer_learning"}
        assert all(r["quote"] for r in llm_rows)
        assert sum(1 for r in rows if r["engine"] == "model") > 10
        themes = {c.theme for c in effective_codes(review.store)}
        assert "ww_peer_learning" in themes


def test_the_writer_keeps_only_sentences_whose_citations_check_out(client):
    """Recorded answers: a faithful sentence is kept; one citing a quote it was not given, one naming a
    report it does not cite, one quoting words the quotes do not hold, one citing nothing, and one resting
    on a quote no longer in its source are dropped and listed; a statement left with nothing keeps its
    extractive text."""
    from types import SimpleNamespace

    from whatworks.claims import Citation, Statement

    source = EXAMPLE.read_text(encoding="utf-8")

    def cite(quote: str, sha: str = "ex") -> Citation:
        return Citation("E7", sha, str(EXAMPLE), quote, None, "Findings", None, "finding", 1, "positive")

    a = Statement("WRITER-TEST-A In Viet Nam, Cambodia and Myanmar (E7), …", "positive", ["sf_tripartism"], ["E7"],
                  [cite("Tripartite social dialogue, the participatory approach to the feasibility studies and the "
                        "local presence of national coordinators were the main drivers of the results obtained and "
                        "of their sustainability."),
                   cite("Cambodia and Myanmar completed feasibility studies and actuarial valuations, but political "
                        "instability and changing governance frameworks delayed the legal reforms.")])
    b = Statement("WRITER-TEST-B Savings groups (E7)", "positive", ["fb_women"], ["E7"],
                  [cite("Savings groups doubled their membership in two years.", sha="gone")])
    synthesis = SimpleNamespace(statements=lambda: [a, b])
    dropped = write_statements(client, synthesis, lambda sha: [source] if sha == "ex" else ["another text"])
    assert a.source == "llm" and a.text == (
        "Tripartite social dialogue and the local presence of national coordinators drove the results in Viet Nam, "
        "Cambodia and Myanmar (E7). Political instability \"delayed the legal reforms\" in Cambodia and Myanmar (E7).")
    reasons = [d["reason"] for d in dropped]
    assert any("not given" in r for r in reasons)
    assert any("names reports it does not cite (E9)" in r for r in reasons)
    assert any("quotation marks" in r for r in reasons)
    assert any("cites no quote" in r for r in reasons)
    assert any("not found verbatim" in r for r in reasons)
    assert b.source == "extractive" and b.text.startswith("WRITER-TEST-B")  # nothing survived: kept as it was
    assert len(dropped) == 5


def test_unreachable_server_is_an_error_the_coder_survives(caplog):
    dead = LLMClient(LLMConfig(url="http://127.0.0.1:9/v1", model="m", timeout=2))
    with pytest.raises(LLMError, match="cannot reach"):
        dead.chat([{"role": "user", "content": "hi"}])
    with caplog.at_level(logging.WARNING, logger="whatworks.llm"):
        rows, dropped = code_with_llm(dead, load_codebook("ilo-social-protection"), [("s", "k", "Some text.")])
    assert rows == [] and dropped == 0 and "skipped" in caplog.text


@pytest.mark.parametrize("content, expected", [
    ('{"codes": []}', {"codes": []}),
    ('Sure!\n```json\n{"codes": [{"theme": "x"}]}\n```\nDone.', {"codes": [{"theme": "x"}]}),
    ('[{"theme": "y"}] trailing words', [{"theme": "y"}]),
])
def test_json_is_found_in_chatty_answers(content, expected):
    assert parse_json(content) == expected


def test_quotes_must_be_verbatim_apart_from_whitespace():
    source = "Political instability and changing\ngovernance frameworks delayed the reforms."
    assert verify_quote("changing governance  frameworks", source)
    assert not verify_quote("changing governance framework delayed", source)
    assert not verify_quote("", source)
