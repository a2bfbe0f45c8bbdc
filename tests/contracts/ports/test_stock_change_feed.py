"""StockChangeFeed (a stock master's changed-since read): it lists what changed since the moment and not what
did not, each row the same figure a full read gives, and it reads the quarantined and damaged units too."""

from __future__ import annotations

import pytest

from shared.connectors.spec import Role
from shared.models.feed import split
from shared.ports import StockChangeFeed
from tests.contracts.ports.worlds import Subject

ROLES = {Role.STOCK_MASTER}


def _feed(subject: Subject) -> StockChangeFeed:
    port = subject.port
    if not isinstance(port, StockChangeFeed) or not port.offers_stock_feed:
        pytest.skip(f"{type(port).__name__} offers no changed-since stock feed: full reads only")
    return port


def test_lists_what_changed_since_and_not_what_did_not(subject: Subject, unique: str) -> None:
    feed = _feed(subject)
    before, after = f"OLD-{unique}", f"NEW-{unique}"
    subject.world.set_stock(before, 4)
    subject.clock.advance(600)
    since = subject.clock.now()
    subject.clock.advance(5)
    subject.world.set_stock(after, 6)
    rows, rejected = split(feed.stock_changed_since(since))
    assert rejected == []
    listed = {row.sku for row in rows}
    assert after in listed
    assert before not in listed
    full, _ = split(subject.port.stock_levels([after]))
    changed = [row for row in rows if row.sku == after]
    assert [(r.location, r.available, r.quarantined, r.damaged) for r in changed] == [
        (r.location, r.available, r.quarantined, r.damaged) for r in full
    ]
