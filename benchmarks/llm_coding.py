"""The optional language-model coder on the blind gold set's test split, through recorded responses.

    .venv/bin/python benchmarks/llm_coding.py

A local HTTP server speaks the OpenAI chat-completions API and answers each coding request with
the response recorded for its excerpt (benchmarks/data/llm_coder/responses_<codebook>.jsonl); the
real client (whatworks.llm: LLMClient, code_item with its checks — theme ids in the codebook,
quotes verbatim in the item) codes every test item, and the codes are scored like the supervised
coder's (benchmarks/coding_accuracy.py). Nothing is called outside this machine.

The recorded answers were written by an AI agent acting as the model, given exactly the system
prompt and codebook prompt whatworks sends. The gold labels were written by agents of the same
kind (with the guidelines), so this agreement is an upper bound for a model of that kind, not a
measure of any local model you would run: record your own model's answers to compare.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gold  # noqa: E402

from whatworks.codebook import load_codebook  # noqa: E402
from whatworks.llm import LLMClient, LLMConfig, LLMError, code_item, codebook_prompt  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "llm_coder"
SHORT = {"ilo-social-protection": "ilo", "canada-social-security": "can"}


class Replay(BaseHTTPRequestHandler):
    answers: dict[str, str] = {}  # excerpt → recorded content

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        excerpt = body["messages"][-1]["content"].split("\n\nExcerpt:\n", 1)[-1]
        content = self.answers.get(excerpt, '{"codes": []}')
        payload = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload.encode())))
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args):
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = LLMClient(LLMConfig(url=f"http://127.0.0.1:{server.server_address[1]}/v1", model="recorded"))
    for name, short in SHORT.items():
        path = DATA / f"responses_{short}.jsonl"
        if not path.exists():
            print(f"{name}: no recorded responses ({path})")
            continue
        cb = load_codebook(name)
        rows = {r["id"]: r for r in gold.items(name) if r["split"] == "test"}
        recorded = {r["id"]: r["content"] for r in map(json.loads, path.open(encoding="utf-8"))}
        Replay.answers = {rows[i]["text"]: c for i, c in recorded.items() if i in rows}
        prompt = codebook_prompt(cb)
        expected, predicted, dropped = [], [], 0
        for r in rows.values():
            try:
                codes, d = code_item(client, cb, r["text"], prompt)
            except LLMError as e:
                print(f"  {r['id']}: {e}")
                codes, d = [], 0
            dropped += d
            expected.append([cb.canonical(t) for t in r["themes"]])
            predicted.append([t for t, _ in codes])
        s = gold.scores(expected, predicted, cb.ids)
        print(f"{name}: {len(rows)} test items, {len(recorded)} recorded answers: {s.row()}; "
              f"{dropped} codes dropped by the checks (unknown theme or quote not verbatim)")
    server.shutdown()


if __name__ == "__main__":
    main()
