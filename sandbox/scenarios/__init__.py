"""A pairing's own day, chosen by the platform type of its order source.

`sandbox.scenario.run_day` drives a Cin7 Core order source (webhooks, the poll as a safety net, Scend as the
warehouse). A source that plays its part differently has its scenario here, registered by its platform
type: a module with `run_day(options, *, config, after) -> DayResult`, `failures(summary) -> list[str]`
(why the day is not healthy) and `summary_rows(summary) -> list[tuple[str, object]]` (the CLI's table).
Its summary names it (`"scenario": <module name>`), so the CLI and `failures` find it again.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# order source platform type -> scenario module (under sandbox.scenarios)
SCENARIOS: dict[str, str] = {"sfcc": "sfcc_cin7", "commercetools": "commercetools_scend"}


def for_source(platform_type: str) -> ModuleType | None:
    """The scenario of a day whose orders come from `platform_type`; None: the Cin7 Core day."""
    name = SCENARIOS.get(platform_type)
    return named(name) if name else None


def named(name: str) -> ModuleType:
    """A scenario by the name its summary carries."""
    if name not in SCENARIOS.values():
        raise KeyError(f"no sandbox scenario {name!r} (known: {', '.join(sorted(SCENARIOS.values()))})")
    return importlib.import_module(f"{__name__}.{name}")
