"""What a platform package declares about itself, so config, topology, runtime and sandbox need no platform
names: its settings model, its secret's keys, how to build its client, the roles it can play and its docs.

A new platform is a package under shared/connectors/ with a `SPEC` in its `spec.py` and one line in
`registry.py`; a new pairing is a client file naming platform instances and the pipelines between them.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from shared.connectors.settings import PlatformSettings

if TYPE_CHECKING:  # the HTTP layer imports config; config imports this module
    from shared.clock import Clock
    from shared.connectors.http import RateBudget


class Role(StrEnum):
    """A part a platform plays in a pipeline; a connector lists the roles its client implements (its ports)."""

    ORDER_SOURCE = "order_source"  # orders are captured here and read when ready
    ORDER_TARGET = "order_target"  # orders are created here exactly once (a warehouse, an ERP)
    SHIPMENT_SOURCE = "shipment_source"  # reports what shipped
    SHIPMENT_TARGET = "shipment_target"  # takes tracking back so the order closes
    CATALOGUE_SOURCE = "catalogue_source"  # products are mastered here
    CATALOGUE_TARGET = "catalogue_target"  # products must exist here before orders need them
    STOCK_MASTER = "stock_master"  # sellable stock is read here
    STOCK_TARGET = "stock_target"  # sellable figures are set here
    STOCK_READER = "stock_reader"  # the other side's own figures can be read (drift)
    CANCEL_SOURCE = "cancel_source"  # announces cancellations of its orders
    CANCEL_TARGET = "cancel_target"  # reads its live order status and cancels before its cut-off
    NOTE_TARGET = "note_target"  # takes a note on an order (a cancellation outcome)


class BuildContext(Protocol):
    """What a connector's builder may take from the runtime."""

    clock: Clock
    http_timeout: float | None

    def budget(self, key: str, calls: int, per_seconds: float) -> RateBudget: ...


@dataclass(frozen=True)
class ConnectorSpec:
    """A platform package's declaration.

    `builder` is "module:function", imported only when a client is built, so that validating a config
    (at synth time) never imports HTTP clients. The function takes (instance name, settings, secret, retries, ctx).
    `statuses` optionally names a module with the platform's order statuses and cancel table
    (`status_codes()`, `status_read(settings, code)`, `despatched()`, `cancel_rules(settings)`).
    """

    type: str
    title: str
    settings: builtins.type[PlatformSettings]
    secret_keys: tuple[str, ...]
    roles: frozenset[Role]
    builder: str
    docs: str
    statuses: str | None = None

    def build(
        self, name: str, settings: PlatformSettings, secret: Mapping[str, Any], retries: Any, ctx: BuildContext
    ) -> Any:
        """The client of instance `name` (named in errors that point at its settings)."""
        missing = [key for key in self.secret_keys if key not in secret]
        if missing:
            raise ValueError(f"{self.title} credentials secret lacks key(s) {missing}")
        module, _, function = self.builder.partition(":")
        return getattr(importlib.import_module(module), function)(name, settings, secret, retries, ctx)

    def status_module(self) -> Any:
        if self.statuses is None:
            raise ValueError(f"{self.title} has no order status table (it is no cancel target)")
        return importlib.import_module(self.statuses)
