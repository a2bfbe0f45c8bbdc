"""The runbook covers every exception reason (with its owner) and every alarm the stack creates."""

from __future__ import annotations

import re
from pathlib import Path

from shared import topology
from shared.models import OWNER, ReasonCode

RUNBOOK = (Path(__file__).resolve().parents[2] / "docs" / "runbook.md").read_text()


def sections() -> dict[str, str]:
    """`### \\`reason\\`` heading -> its text."""
    parts = re.split(r"^### `([a-z_]+)`\s*$", RUNBOOK, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_reason_code_has_a_section_naming_its_owner_and_the_fix() -> None:
    found = sections()
    assert set(found) >= {reason.value for reason in ReasonCode}
    for reason in ReasonCode:
        text = found[reason.value]
        assert f"Owner: {OWNER[reason].value}" in text, reason
        assert "Meaning:" in text and "Fix:" in text, reason


def test_every_alarm_of_the_stack_is_explained() -> None:
    # The alarm names infra/constructs/monitoring.py gives, without the hopline-<client>- prefix
    names = {
        f"{q.name}-{kind}" for q in topology.QUEUES for kind in ("dead-letters", "oldest-message", "dead-letter-age")
    }
    names |= {
        f"{h.name.replace('_', '-')}-schedule-dead-letters"
        for h in topology.HOPS
        if isinstance(h.trigger, topology.ScheduleTrigger)
    }
    names |= {alert.name for alert in topology.ALERTS}
    names |= {f"{machine.name}-state-machine-executions-failed" for machine in topology.STATE_MACHINES}
    missing = sorted(name for name in names if f"`{name}`" not in RUNBOOK)
    assert missing == []


def test_console_redrive_steps_are_there() -> None:
    assert "Start DLQ redrive" in RUNBOOK and "Redrive to source queue" in RUNBOOK
