"""Composition root: builds stores and connectors from config and secrets, on first use.

Nothing here talks to AWS at import time, nor imports boto3, the HTTP stack, the stores or the config models:
a hop's cold start pays only for what its first invocation builds. Handlers call `runtime()`; the sandbox and
tests install their own Runtime (virtual clock, simulator URLs, short timeouts) with `use()`, or one per hop
for the length of an invocation with `invoking()` (each built from that hop's environment, as its function is).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from shared import topology
from shared.clock import Clock, SystemClock
from shared.connectors.roles import Role

if TYPE_CHECKING:
    from shared.config import ClientConfig
    from shared.connectors.http import RateBudget
    from shared.models.base import Model
    from shared.ports import (
        CancelSource,
        CancelTarget,
        CatalogueAudit,
        CatalogueSource,
        CatalogueTarget,
        ExportClaim,
        FulfilmentTarget,
        NoteTarget,
        OrderRecords,
        OrderSource,
        ReturnSource,
        ReturnTarget,
        ShipmentSource,
        ShipmentTarget,
        SkuListing,
        StockSource,
        StockTarget,
        SubscriptionKeeper,
        WarehouseIdRecorder,
    )
    from shared.stores.archive import PayloadArchive
    from shared.stores.cursors import CursorStore
    from shared.stores.exceptions import ExceptionStore
    from shared.stores.ledger import LedgerStore
    from shared.stores.messages import MessageLog
    from shared.stores.rate_budget import Priority
    from shared.stores.sku_map import SkuMapStore
    from shared.stores.stock_levels import StockLevelStore

# What an invocation keeps for itself after its last platform call (re-sending what it leaves for later).
DEADLINE_WRAP_UP_SECONDS = 5.0
# One budget per target account per process, shared by every connector instance that calls it.
_BUDGETS: dict[str, RateBudget] = {}


class Runtime:
    def __init__(
        self,
        config: ClientConfig | None = None,
        *,
        clock: Clock | None = None,
        environ: dict[str, str] | None = None,
        http_timeout: float | None = None,
        budgets: dict[str, RateBudget] | None = None,
        tally: Counter[str] | None = None,
    ):
        self._environ = environ if environ is not None else os.environ
        self._config = config
        self.clock: Clock = clock or SystemClock()
        self.http_timeout = http_timeout
        self.budgets = budgets if budgets is not None else _BUDGETS
        # Running totals a step adds to (the sandbox summary reads them; metrics carry them in AWS).
        self.tally: Counter[str] = tally if tally is not None else Counter()
        self._platforms: dict[str, Any] = {}
        # Which hop is running decides how it draws on shared budgets (set per invocation in the sandbox).
        self.priority: Priority = "background" if self._environ.get(topology.PRIORITY_ENV) == "background" else "orders"
        # When the running invocation must be done (epoch seconds on this clock), from its Lambda context;
        # a background caller gives way rather than wait past it. None outside an invocation.
        self.deadline: float | None = None

    def start_invocation(self, remaining_ms: int) -> None:
        """The Lambda context's remaining time at the start of an invocation, as this runtime's deadline."""
        self.deadline = self.clock.now().timestamp() + remaining_ms / 1000

    @contextmanager
    def prioritised(self, priority: Priority) -> Iterator[None]:
        """Calls inside draw on shared budgets at `priority` (a background hop's one piece of order work)."""
        before, self.priority = self.priority, priority
        try:
            yield
        finally:
            self.priority = before

    @property
    def hop_name(self) -> str:
        """The hop this runtime runs (`hopline-<hop>` as its service name), '' outside one."""
        service = self._environ.get("POWERTOOLS_SERVICE_NAME", "")
        return service.removeprefix("hopline-") if service.startswith("hopline-") else ""

    # -- configuration and AWS ------------------------------------------------------------------
    @property
    def environment(self) -> dict[str, str]:
        """What this runtime was built from: a function's environment variables (a copy)."""
        return dict(self._environ)

    @cached_property
    def config(self) -> ClientConfig:
        """The client's config, loaded (and its models built) on first use rather than at import."""
        if self._config is not None:
            return self._config
        from shared.config import config_from_env

        return config_from_env(dict(self._environ))

    @cached_property
    def dynamodb(self) -> Any:
        import boto3

        return boto3.resource("dynamodb")

    @cached_property
    def sqs(self) -> Any:
        import boto3

        return boto3.client("sqs")

    @cached_property
    def s3(self) -> Any:
        import boto3

        return boto3.client("s3")

    @cached_property
    def stepfunctions(self) -> Any:
        import boto3

        return boto3.client("stepfunctions")

    def state_machine_arn(self, name: str) -> str:
        return self._environ[topology.state_machine_env(name)]

    def table(self, name: str) -> Any:
        return self.dynamodb.Table(self._environ[topology.table_env(name)])

    def queue_url(self, name: str) -> str:
        return self._environ[topology.queue_url_env(name)]

    @cached_property
    def secrets(self) -> Any:
        """This runtime's own Powertools provider: its cache is this function's, as in one Lambda process.
        Its client comes from the default boto3 session the function's other clients share; left to
        itself, Powertools builds a second session and loads botocore's endpoint data again."""
        import boto3
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider(boto3_client=boto3.client("secretsmanager"))

    def secret(self, path: str) -> dict[str, Any]:
        """A JSON secret by its config path; cached by Powertools for 5 minutes, never logged."""
        name = self._environ.get(topology.secret_env(path)) or topology.config_value(self.config, path)
        value = self.secrets.get(name, transform="json", max_age=300)
        if not isinstance(value, dict):
            raise ValueError(f"secret for {path} must be a JSON object")
        return value

    def send(self, queue: str, message: Model) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url(queue), MessageBody=message.model_dump_json())

    def send_batch(self, queue: str, messages: list[Model]) -> None:
        """SendMessageBatch in tens; any entry SQS refuses raises, so the caller retries (nothing lost)."""
        url = self.queue_url(queue)
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": m.model_dump_json()} for i, m in enumerate(chunk)]
            failed = self.sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} message(s) for {queue}: {failed[0]}")

    # -- stores -----------------------------------------------------------------------------------
    @cached_property
    def ledger(self) -> LedgerStore:
        from shared.stores.ledger import LedgerStore

        return LedgerStore(self.table("ledger"), self.config.client, self.dynamodb)

    @cached_property
    def exceptions(self) -> ExceptionStore:
        from shared.stores.exceptions import ExceptionStore

        return ExceptionStore(self.table("exceptions"), self.config.client, self.dynamodb)

    @cached_property
    def sku_map(self) -> SkuMapStore:
        from shared.stores.sku_map import SkuMapStore

        return SkuMapStore(self.table("sku-map"), self.dynamodb, self.config.client)

    @cached_property
    def cursors(self) -> CursorStore:
        from shared.stores.cursors import CursorStore

        return CursorStore(self.table("cursors"), self.config.client)

    @cached_property
    def message_log(self) -> MessageLog:
        from shared.stores.messages import MessageLog

        return MessageLog(self.table("messages"), self.config.client)

    @cached_property
    def stock_levels(self) -> StockLevelStore:
        from shared.stores.stock_levels import StockLevelStore

        return StockLevelStore(self.table("stock-levels"), self.dynamodb, self.config.client)

    @cached_property
    def archive(self) -> PayloadArchive:
        from shared.stores.archive import PayloadArchive

        return PayloadArchive(self.s3, self._environ[topology.bucket_env("archive")], self.config.client)

    # -- connectors -------------------------------------------------------------------------------
    @property
    def user_agent(self) -> str:
        """`hopline/<hop>` from the function's service name (`hopline-<hop>`), or `hopline` outside a hop: the
        platform's own logs then say which flow spent its calls, and the sandbox counts calls per flow by it."""
        hop = self.hop_name
        return f"hopline/{hop}" if hop else "hopline"

    def budget(self, key: str, calls: int, per_seconds: float) -> RateBudget:
        """One bucket per target account that never admits more than `calls` in any `per_seconds` window."""
        if key not in self.budgets:
            from shared.connectors.http import TokenBucket
            from shared.stores.rate_budget import DynamoTokenBucket, budget_shape

            rate, burst = budget_shape(calls)
            if topology.table_env(topology.BUDGET_TABLE) in self._environ:
                # Shared with every concurrent Lambda of every flow that calls this account.
                self.budgets[key] = DynamoTokenBucket(
                    self.table(topology.BUDGET_TABLE),
                    key,
                    rate=rate,
                    per_seconds=per_seconds,
                    capacity=burst,
                    clock=self.clock,
                    priority=lambda: self.priority,
                    deadline=lambda: self.deadline,
                    # A call's own timeout, and a few seconds to leave the rest of the work for later.
                    deadline_margin=float(self.config.retries.timeout_seconds) + DEADLINE_WRAP_UP_SECONDS,
                )
            else:  # a process with no budget table (a script, a unit test): the same limit, in-process
                self.budgets[key] = TokenBucket(rate, per_seconds, self.clock, capacity=burst)
        return self.budgets[key]

    # -- platforms, by the role they play in this client's pipelines ----------------------------------
    def role(self, role: Role) -> Any:
        """The client of the platform playing `role`, built once per process from its spec, settings and the
        credentials secret the hop was given for that role (`<role>.credentials_secret`)."""
        name = self.config.platform_for(role)
        if name not in self._platforms:
            spec = self.config.spec(name)
            secret = self.secret(f"{role.value}.credentials_secret")
            self._platforms[name] = spec.build(name, self.config.platforms[name], secret, self.config.retries, self)
        return self._platforms[name]

    def built(self, platform: str) -> Any | None:
        """The client of a platform instance if this runtime has built it (diagnostics: call counts)."""
        return self._platforms.get(platform)

    def override(self, role: Role, client: Any) -> None:
        """Put a wrapped client in place of the platform playing `role` (fault gates in tests, the sandbox)."""
        self._platforms[self.config.platform_for(role)] = client

    @property
    def order_source(self) -> OrderSource:
        return cast("OrderSource", self.role(Role.ORDER_SOURCE))

    @property
    def export_claim(self) -> ExportClaim | None:
        """The order source as an export claim when its spec says it marks exports (SFCC); else None."""
        if not self.config.spec(self.config.platform_for(Role.ORDER_SOURCE)).marks_exports:
            return None
        return cast("ExportClaim", self.role(Role.ORDER_SOURCE))

    @property
    def warehouse_id_recorder(self) -> WarehouseIdRecorder | None:
        """The order source as a recorder of warehouse ids when its spec says it keeps them; else None."""
        if not self.config.spec(self.config.platform_for(Role.ORDER_SOURCE)).records_warehouse_ids:
            return None
        return cast("WarehouseIdRecorder", self.role(Role.ORDER_SOURCE))

    @property
    def subscription_keeper(self) -> SubscriptionKeeper:
        """The order source as the holder of the subscription that pushes its messages to us."""
        return cast("SubscriptionKeeper", self.role(Role.ORDER_SOURCE))

    @property
    def order_target(self) -> FulfilmentTarget:
        return cast("FulfilmentTarget", self.role(Role.ORDER_TARGET))

    @property
    def shipment_source(self) -> ShipmentSource:
        return cast("ShipmentSource", self.role(Role.SHIPMENT_SOURCE))

    @property
    def shipment_target(self) -> ShipmentTarget:
        return cast("ShipmentTarget", self.role(Role.SHIPMENT_TARGET))

    @property
    def catalogue_source(self) -> CatalogueSource:
        return cast("CatalogueSource", self.role(Role.CATALOGUE_SOURCE))

    @property
    def catalogue_target(self) -> CatalogueTarget:
        return cast("CatalogueTarget", self.role(Role.CATALOGUE_TARGET))

    @property
    def stock_master(self) -> StockSource:
        """Where available-to-sell is read: the stock pipeline's `from`."""
        return cast("StockSource", self.role(Role.STOCK_MASTER))

    @property
    def stock_reader(self) -> StockSource:
        """The stock target's own figures (drift): the stock pipeline's `to`."""
        return cast("StockSource", self.role(Role.STOCK_READER))

    @property
    def has_stock_target(self) -> bool:
        """Whether sellable figures are set anywhere, known from config alone: a hop that only asks (the stock
        read) is not granted the target's credentials and must not build its connector."""
        config = self.config
        return config.plays(Role.STOCK_TARGET) and config.settings_for(Role.STOCK_TARGET).accepts_stock_writes()

    @property
    def stock_target(self) -> StockTarget | None:
        """Where sellable figures are set; None when that platform takes no stock writes (its settings say
        so): then the stock flow reports drift only."""
        if not self.has_stock_target:
            return None
        return cast("StockTarget", self.role(Role.STOCK_TARGET))

    @property
    def cancel_source(self) -> CancelSource:
        return cast("CancelSource", self.role(Role.CANCEL_SOURCE))

    @property
    def cancel_target(self) -> CancelTarget:
        return cast("CancelTarget", self.role(Role.CANCEL_TARGET))

    @property
    def note_target(self) -> NoteTarget:
        return cast("NoteTarget", self.role(Role.NOTE_TARGET))

    @property
    def catalogue_audit(self) -> CatalogueAudit:
        return cast("CatalogueAudit", self.role(Role.CATALOGUE_AUDIT))

    @property
    def sku_listing(self) -> SkuListing:
        return cast("SkuListing", self.role(Role.SKU_LISTING))

    @property
    def order_records(self) -> OrderRecords:
        return cast("OrderRecords", self.role(Role.ORDER_RECORDS))

    @property
    def return_source(self) -> ReturnSource:
        return cast("ReturnSource", self.role(Role.RETURN_SOURCE))

    @property
    def return_target(self) -> ReturnTarget:
        return cast("ReturnTarget", self.role(Role.RETURN_TARGET))


_current: Runtime | None = None
_invocation = threading.local()


def runtime() -> Runtime:
    instance: Runtime | None = getattr(_invocation, "runtime", None)
    if instance is not None:
        return instance
    global _current
    if _current is None:
        _current = Runtime()
    return _current


@contextmanager
def invoking(instance: Runtime) -> Iterator[Runtime]:
    """`runtime()` on this thread is `instance` until the block ends: the sandbox runs hops on several threads
    at once (queue consumers, state machine tasks), each with the runtime built from its own environment."""
    previous = getattr(_invocation, "runtime", None)
    _invocation.runtime = instance
    try:
        yield instance
    finally:
        _invocation.runtime = previous


def use(instance: Runtime | None) -> None:
    """Install a runtime (sandbox, tests); None resets to building one from the environment."""
    global _current
    _current = instance
