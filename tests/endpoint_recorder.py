"""Records every request a connector sends (through the one HTTP mechanism), so tests can hold the connectors
to the endpoint tables of docs/platforms/: installed once by tests/conftest.py, checked after every test."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.platform_docs import PAGES, undocumented
from shared.connectors import http

_calls: list[tuple[str, str, str, list[str]]] = []
_lock = threading.Lock()
_original = http.HttpCaller._once


def _recording_once(self: http.HttpCaller, method: str, url: str, **kwargs: Any) -> Any:
    if self.target in PAGES:
        names = [name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
        names += list(kwargs.get("params") or {})
        with _lock:
            _calls.append((self.target, method.upper(), url, names))
    return _original(self, method, url, **kwargs)


def install() -> None:
    if http.HttpCaller._once is not _recording_once:
        http.HttpCaller._once = _recording_once  # type: ignore[method-assign]


def clear() -> None:
    with _lock:
        _calls.clear()


def calls() -> list[tuple[str, str, str, list[str]]]:
    with _lock:
        return list(_calls)


def problems() -> list[str]:
    """Every recorded request the platform pages do not allow, once each."""
    found = {undocumented(target, method, url, names) for target, method, url, names in calls()}
    return sorted(problem for problem in found if problem)
