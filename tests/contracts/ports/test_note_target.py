"""NoteTarget: a note appears on the order once, however often it is written."""

from __future__ import annotations

import pytest

from shared.connectors.spec import Role
from shared.errors import NotFoundError
from shared.ports import NoteTarget
from tests.contracts.ports.worlds import CommerceWorld, Subject

ROLES = {Role.NOTE_TARGET}


def test_a_note_appears_on_the_order_and_a_repeat_is_not_written_twice(subject: Subject, unique: str) -> None:
    port: NoteTarget = subject.port
    world: CommerceWorld = subject.world
    source_id = world.add_order(f"SO-{unique}", [(f"TEE-{unique}", 1)])
    line = f"Hopline: cancelled at the warehouse ({unique})"
    assert port.add_note(source_id, line) is True
    assert line in world.notes(source_id)
    # A retry after a lost answer writes nothing more
    assert port.add_note(source_id, line) is False
    assert world.notes(source_id).count(line) == 1
    # A second, different line is kept beside the first
    assert port.add_note(source_id, f"second line {unique}") is True
    assert line in world.notes(source_id) and f"second line {unique}" in world.notes(source_id)


def test_a_note_on_an_order_the_platform_does_not_hold_is_refused(subject: Subject) -> None:
    port: NoteTarget = subject.port
    with pytest.raises(NotFoundError):
        port.add_note("0badc0de-0000-4000-8000-000000000000", "never written")
