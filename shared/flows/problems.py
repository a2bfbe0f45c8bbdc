"""A problem a decision found with a record: its reason code and a detail for the record's owner.

Its own module because every queue hop's bounds check returns it: those hops need not load the release
decision (its SKU pattern and postcode tables) to say why a message may not travel.
"""

from __future__ import annotations

from shared.models import ReasonCode
from shared.models.base import Model


class Problem(Model):
    reason: ReasonCode
    detail: str
