"""What the workspace keeps between requests: values that depend on the review's decisions (kept
until `Review.changes()` says something changed), and the synthesis preview, built in a thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from whatworks.api import Review

log = logging.getLogger(__name__)


class Cache:
    """Values keyed by name and stamp: a value is made again when its stamp changes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items: dict[Any, tuple[Any, Any]] = {}
        self.threads: dict[Any, threading.Thread] = {}

    def get(self, key: Any, stamp: Any, make: Callable[[], Any]) -> Any:
        with self.lock:
            hit = self.items.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = make()
        with self.lock:
            self.items[key] = (stamp, value)
        return value

    def later(self, key: Any, stamp: Any, make: Callable[[], Any], wait: float = 0.1) -> tuple[Any, bool]:
        """A value slow to make on a large review (seconds): made in a thread of its own (`make` opens
        its own connection), waited for at most `wait` seconds; meanwhile the last one made (None at
        first). Returns (value, whether it is up to date)."""
        with self.lock:
            hit = self.items.get(key)
            if hit is not None and hit[0] == stamp:
                return hit[1], True
            thread = self.threads.get(key)
            if thread is None:
                thread = self.threads[key] = threading.Thread(target=self._make, args=(key, stamp, make),
                                                              daemon=True, name=f"cache-{key}")
                thread.start()
        thread.join(wait)
        with self.lock:
            hit = self.items.get(key)
        return (hit[1] if hit is not None else None), hit is not None and hit[0] == stamp

    def _make(self, key: Any, stamp: Any, make: Callable[[], Any]) -> None:
        try:
            value = make()
        except Exception:  # noqa: BLE001 - the page goes on without it
            log.exception("making %s failed", key)
            value = None
        with self.lock:
            self.items[key] = (stamp, value)
            self.threads.pop(key, None)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


def visible_key(visible: Sequence[str] | None) -> tuple | None:
    return None if visible is None else tuple(sorted(visible))


class SynthesisBuilder:
    """The synthesis preview, built in a background thread (on its own connection) so no page waits
    for it on a large review.

    A request whose preview is out of date (the review changed since) starts a rebuild and waits up
    to `wait` seconds: a small review gets a fresh preview at once, a large one gets the last preview
    (or "building…") and the page refreshes itself. Blind reviewers get a preview of what they may
    see: one preview per set of visible reviewers."""

    def __init__(self, review: Review, wait: float = 1.0):
        self.review, self.wait = review, wait
        self.lock = threading.Lock()
        self.results: dict[Any, dict[str, Any]] = {}  # visible key → {result, built_for, built_at}
        self.threads: dict[Any, threading.Thread] = {}

    def _build(self, key: Any, visible: Sequence[str] | None, stamp: Any) -> None:
        t0 = time.perf_counter()
        try:
            with self.review.connection() as review:
                result = {"synthesis": review.synthesize(visible, llm=None), "seconds": time.perf_counter() - t0,
                          "error": None}
        except Exception as e:  # noqa: BLE001 - show why, keep the page
            log.exception("synthesis preview failed")
            result = {"synthesis": None, "seconds": None, "error": f"The synthesis failed: {type(e).__name__}: {e}"}
        with self.lock:
            self.results[key] = {"result": result, "built_for": stamp, "built_at": time.time()}
            self.threads.pop(key, None)

    def fresh(self, stamp: Any, visible: Sequence[str] | None):
        """The preview's Synthesis if it is up to date (exports reuse it), else None."""
        with self.lock:
            got = self.results.get(visible_key(visible)) or {}
        return (got.get("result") or {}).get("synthesis") if got.get("built_for") == stamp else None

    def view(self, stamp: Any, visible: Sequence[str] | None) -> dict[str, Any]:
        key = visible_key(visible)
        started = None
        with self.lock:
            got = self.results.get(key) or {}
            if got.get("built_for") != stamp and key not in self.threads:
                started = self.threads[key] = threading.Thread(target=self._build, args=(key, visible, stamp),
                                                               daemon=True, name="synthesis-preview")
                started.start()
        if started is not None:  # only the request that started a build waits (briefly) for it
            started.join(self.wait)
        with self.lock:
            got = self.results.get(key) or {}
            result = dict(got.get("result") or {"synthesis": None, "seconds": None, "error": None})
            result["building"] = key in self.threads
            result["stale"] = got.get("built_for") != stamp
            result["built_at"] = got.get("built_at")
        return result
