"""A login flood against a team workspace (target: server RSS < 600 MB, other pages < 1 s).

Builds a small team review of the example reports (whatworks/data/examples), with accounts hashed
at argon2id's production parameters (64 MiB a hash), and serves it with `whatworks serve --team`
in a process of its own. Then `--clients` threads (120, in 4 processes) each send bad logins as
fast as the server answers them for `--seconds` (the form once, then its token again and again),
from addresses of their own (X-Forwarded-For, believed from the proxy on 127.0.0.1 as in
production): half try the lead's name with a wrong password (each such try may cost a hash), half
names that do not exist. Meanwhile a logged-in reviewer loads the corpus, the screening queue, the
agreement page and the audit trail in turn (first for a while without the flood, as a baseline on
the machine as loaded as it is), and the lead logs in from their usual address every 5 seconds.
The server's resident memory is sampled every 50 ms. `--control` floods with requests for the
stylesheet instead: what any flood of requests costs the other pages on this machine.

Prints: logins sent and how they were answered (401 wrong, 429 refused by the throttle or the
gate), failures counted, the server's peak RSS, the other pages' p50 / p95 / max with and without
the flood, the slowest loads, the lead's logins.

    .venv/bin/python benchmarks/login_flood.py [--clients 120] [--seconds 30] [--keep DIR] [--control]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

from whatworks.api import Review  # noqa: E402

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORDS = {"lead": "the-lead-password", "rita": "rita-password"}
LEAD_ADDRESS = "192.168.7.7"


def build(root: Path) -> Path:
    project = root / "review"
    examples = sorted((ROOT / "whatworks" / "data" / "examples").iterdir())
    with Review.create(project, "ilo-social-protection") as review:
        review.add(examples, jobs=1)
        review.screen()
        review.save_user("lead", "lead", PASSWORDS["lead"])
        review.save_user("rita", "reviewer", PASSWORDS["rita"])
    return project


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login(client: httpx.Client, name: str, password: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    page = client.get("/login", headers=headers)
    token = CSRF.search(page.text)
    return client.post("/login", data={"name": name, "password": password, "csrf": token.group(1) if token else ""},
                       headers=headers)


def flood(url: str, ks: list[int], seconds: float, control: bool = False) -> dict[int, int]:
    """One process of the flood: a thread per client in `ks`, each sending bad logins for `seconds`
    from an address of its own (in processes apart from the one timing the pages, so their work
    does not slow its clock)."""
    answers: dict[int, int] = {}
    lock = threading.Lock()
    end = time.time() + seconds

    def client(k: int) -> None:
        address = f"10.{k // 250}.{k % 250}.{1 + k % 7}"
        name = "lead" if k % 2 == 0 else f"nobody{k}"
        headers = {"X-Forwarded-For": address}
        with httpx.Client(base_url=url, timeout=120, headers=headers) as c:
            token = ""
            while time.time() < end:
                try:
                    if not token:  # the login form once, then its token again and again
                        token = CSRF.search(c.get("/login").text).group(1)
                    if control:  # the same number of requests for the cheapest thing the server has
                        status = c.get("/static/style.css").status_code
                    else:
                        status = c.post("/login", data={"name": name, "password": f"wrong-password-{k}",
                                                        "csrf": token}).status_code
                except (httpx.HTTPError, AttributeError):
                    status, token = -1, ""
                with lock:
                    answers[status] = answers.get(status, 0) + 1

    threads = [threading.Thread(target=client, args=(k,)) for k in ks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=120)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--keep", type=Path, help="build the review here (and keep it)")
    ap.add_argument("--control", action="store_true",
                    help="flood with requests for the stylesheet instead of logins: what any flood of requests "
                         "costs the other pages on this machine")
    args = ap.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="ww-login-flood-"))
    project = root / "review" if (root / "review" / "review.db").exists() else build(root)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "whatworks.cli", "serve", str(project), "--team", "--port",
                               str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"),  # noqa: SIM115
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    proc = psutil.Process(server.pid)
    try:
        deadline = time.time() + 60
        while True:
            try:
                httpx.get(url + "/login", timeout=2)
                break
            except httpx.HTTPError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("the workspace did not start") from None
                time.sleep(0.2)
        # the lead logs in once from their usual address (so it is known), the reviewer browses
        with httpx.Client(base_url=url, timeout=30) as c:
            assert login(c, "lead", PASSWORDS["lead"], LEAD_ADDRESS).status_code == 303
        reviewer = httpx.Client(base_url=url, timeout=60)
        assert login(reviewer, "rita", PASSWORDS["rita"], "192.168.7.8").status_code == 303
        rss_base = proc.memory_info().rss

        stop = threading.Event()
        answers: dict[int, int] = {}
        peak = [rss_base]
        pages: list[float] = []
        slowest: list[tuple[float, str, float]] = []
        lead_logins: list[tuple[float, int]] = []

        def sample() -> None:
            while not stop.is_set():
                try:
                    rss = proc.memory_info().rss + sum(ch.memory_info().rss for ch in proc.children(recursive=True))
                except psutil.Error:
                    break
                peak[0] = max(peak[0], rss)
                time.sleep(0.05)

        def browse() -> None:
            paths = ["/corpus", "/screen", "/agreement", "/audit", "/corpus?sort=year&dir=desc"]
            i = 0
            while not stop.is_set():
                t0 = time.perf_counter()
                r = reviewer.get(paths[i % len(paths)])
                took = time.perf_counter() - t0
                if r.status_code == 200:
                    pages.append(took)
                    slowest.append((took, paths[i % len(paths)], time.time() - t_start))
                i += 1
                time.sleep(0.1)

        def lead_tries() -> None:
            while not stop.wait(5.0):
                with httpx.Client(base_url=url, timeout=120) as c:
                    t0 = time.perf_counter()
                    r = login(c, "lead", PASSWORDS["lead"], LEAD_ADDRESS)
                    lead_logins.append((time.perf_counter() - t0, r.status_code))

        # the pages without a flood first, on the machine as loaded as it is now
        quiet = threading.Thread(target=browse, daemon=True)
        t_start = time.time()
        quiet.start()
        time.sleep(min(10.0, args.seconds / 2))
        stop.set()
        quiet.join()
        baseline, pages[:], slowest[:] = list(pages), [], []
        stop.clear()
        threads = [threading.Thread(target=f, daemon=True) for f in (sample, browse, lead_tries)]
        t0 = t_start = time.time()
        for t in threads:
            t.start()
        workers = 4
        with ProcessPoolExecutor(workers) as pool:
            parts = [pool.submit(flood, url, list(range(w, args.clients, workers)), args.seconds, args.control)
                     for w in range(workers)]
            for part in parts:
                for status, n in part.result().items():
                    answers[status] = answers.get(status, 0) + n
        stop.set()
        for t in threads:
            t.join(timeout=150)
        elapsed = time.time() - t0
        reviewer.close()
        with Review.open(project) as review:
            failures = review.store.raw("SELECT key, failures FROM login_failures WHERE key = 'global'")
        sent = sum(answers.values())
        print(f"{'CONTROL (stylesheet requests, no logins)' if args.control else 'login flood'}: {args.clients} clients for {elapsed:.0f} s against a team workspace "
              f"(argon2id defaults: 64 MiB a hash); machine load {os.getloadavg()[0]:.1f}")
        print(f"  logins sent {sent} ({sent / elapsed:.0f}/s): " +
              ", ".join(f"{k if k >= 0 else 'error'}: {v}" for k, v in sorted(answers.items())))
        print(f"  failures counted by the global throttle: {failures[0]['failures'] if failures else 0}")
        print(f"  server RSS: {rss_base / 2**20:.0f} MB before, peak {peak[0] / 2**20:.0f} MB during the flood "
              f"(target < 600 MB)")
        if baseline:
            print(f"  pages without a flood: {len(baseline)} loads, p50 {statistics.median(baseline) * 1000:.0f} ms, "
                  f"p95 {p95(baseline) * 1000:.0f} ms, max {max(baseline) * 1000:.0f} ms")
        if pages:
            q = statistics.quantiles(pages, n=20) if len(pages) >= 20 else [max(pages)] * 19
            print(f"  other pages during the flood: {len(pages)} loads, p50 {statistics.median(pages) * 1000:.0f} ms, "
                  f"p95 {q[18] * 1000:.0f} ms, max {max(pages) * 1000:.0f} ms (target < 1 s)")
            print("  slowest: " + ", ".join(f"{path} {took * 1000:.0f} ms at {at:.0f} s"
                                            for took, path, at in sorted(slowest, reverse=True)[:5]))
        print("  the lead logging in from their usual address: " +
              ", ".join(f"{s} in {t * 1000:.0f} ms" for t, s in lead_logins))
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
