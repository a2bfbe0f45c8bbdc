"""What a feed yields besides its records: a row it read but could not map, as data for quarantine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import Field

from shared.models.base import Model

T = TypeVar("T")


class Rejected(Model):
    """A row a connector could not map. It never stops the feed and is never dropped: the step archives and
    quarantines it. `key` is the row's own id where it has one (a despatch id, a product id)."""

    row: Any = Field(description="the raw row as the platform sent it")
    detail: str = Field(description="what is wrong with it, naming the field")
    key: str = ""


def split(items: Iterable[T | Rejected]) -> tuple[list[T], list[Rejected]]:
    """Records and rejected rows of one read, in order."""
    records: list[T] = []
    rejected: list[Rejected] = []
    for item in items:
        if isinstance(item, Rejected):
            rejected.append(item)
        else:
            records.append(item)
    return records, rejected
