"""The endpoint tables of docs/platforms/<platform>.md, read as data: what each connector may call.

Each platform page lists every endpoint the connector calls (and those the simulator serves without the
connector calling them), with the card section and its mark ([V] verified, [C] seen in vendor code, [I]
our inference) and, for an inferred one, the config field that names it. The test suite records every
request the connectors send and fails a test whose connector calls an endpoint, or sends a query
parameter, that the page does not list; the simulators' routes are checked against the same pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

DOCS = Path(__file__).resolve().parent.parent / "docs" / "platforms"
PAGES = {"scend": "scend.md", "cin7_core": "cin7-core.md", "commercetools": "commercetools.md", "sfcc": "sfcc.md"}
# Where each platform's API starts in a URL path (base URLs differ: production, sandbox, simulators).
# commercetools paths start at the host root: the project key is their first segment, `{projectKey}` in its table.
# SFCC's calls go to three hosts (token, SCAPI, OCAPI Data), so its page lists paths from the host root.
API_ROOTS = {"scend": "/api/", "cin7_core": "/ExternalApi/v2/", "commercetools": "/", "sfcc": "/"}
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
MARKS = ("[V]", "[C]", "[I]")
NONE = ("", "-", "—")


@dataclass(frozen=True)
class Endpoint:
    platform: str
    method: str
    path: str  # relative to the API root, `{name}` for a path parameter
    parameters: frozenset[str]
    card: str
    mark: str
    called_by: str
    config: str

    @property
    def called(self) -> bool:
        """The connector calls it (the rest are served by the simulator for scenarios only)."""
        return self.called_by.strip() not in NONE

    @property
    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"\{[^}/]+\}", self.path)
        return re.compile("^" + "[^/]+".join(re.escape(part) for part in parts) + "$")

    def sample(self) -> str:
        """A concrete path for this endpoint (path parameters as digits)."""
        return re.sub(r"\{[^}/]+\}", "12345", self.path)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _code(text: str) -> str:
    return text.strip().strip("`").strip()


@cache
def endpoints(platform: str) -> tuple[Endpoint, ...]:
    """The endpoint table of one platform page; ValueError naming the line when a row is malformed."""
    page = DOCS / PAGES[platform]
    found: list[Endpoint] = []
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        cells = _cells(line) if line.lstrip().startswith("|") else []
        if not cells or cells[0] not in METHODS:
            continue
        if len(cells) != 7:
            raise ValueError(f"{page.name}:{number}: an endpoint row needs 7 cells, got {len(cells)}")
        method, path, parameters, card, mark, called_by, config = cells
        if mark not in MARKS:
            raise ValueError(f"{page.name}:{number}: mark {mark!r} is not one of {', '.join(MARKS)}")
        names = frozenset(_code(name.split("[")[0]) for name in parameters.split(",") if _code(name) not in NONE)
        found.append(Endpoint(platform, method, _code(path), names, card, mark, called_by, _code(config)))
    if not found:
        raise ValueError(f"{page.name}: no endpoint table found")
    return tuple(found)


def relative_path(platform: str, url: str) -> str | None:
    """The part of a request URL after the platform's API root; None when the URL has no API root."""
    path = urlsplit(url).path
    root = API_ROOTS[platform]
    at = path.lower().find(root.lower())
    return None if at < 0 else path[at + len(root) :]


def undocumented(platform: str, method: str, url: str, parameters: list[str]) -> str | None:
    """Why this request is not one the platform page lets the connector make; None when it is."""
    path = relative_path(platform, url)
    if path is None:
        return f"{method} {url}: not under the {platform} API root {API_ROOTS[platform]}"
    # A literal path outranks a template that also matches it (Order/List is not Order/{id}).
    matches = sorted(
        (e for e in endpoints(platform) if e.method == method and e.pattern.match(path)),
        key=lambda e: e.path.count("{"),
    )
    if not matches:
        return f"{method} {path}: not listed in docs/platforms/{PAGES[platform]}"
    endpoint = matches[0]
    if not endpoint.called:
        return f"{method} {path}: listed as not called by the connector in docs/platforms/{PAGES[platform]}"
    extra = sorted(set(parameters) - endpoint.parameters)
    if extra:
        return (
            f"{method} {path}: query parameters {extra} are not listed for {endpoint.method} {endpoint.path} "
            f"in docs/platforms/{PAGES[platform]}"
        )
    return None
