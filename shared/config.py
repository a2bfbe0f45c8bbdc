"""Per-client configuration: validated once from YAML at synth time, and from the environment at run time.

A config mistake must fail `cdk synth` with a message naming the file, the field and the problem, so
every model here forbids unknown keys and validates values (schedules, secret names, retry counts).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.connectors.settings import PlatformSettings
from shared.connectors.spec import ConnectorSpec, Role
from shared.errors import ConfigError

CLIENT_CONFIG_ENV = "HOPLINE_CLIENT_CONFIG"
CLIENTS_DIR = Path(__file__).resolve().parent.parent / "infra" / "clients"

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
_INSTANCE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#LW-]+$")


def validate_schedule(expression: str) -> str:
    """Accept EventBridge `rate(n unit)` or six-field `cron(...)`; reject anything EventBridge would."""
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ValueError("rate value must be >= 1")
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"rate({value} {unit}): use the singular unit for 1 and the plural otherwise")
        return expression
    if expression.startswith("cron(") and expression.endswith(")"):
        fields = expression[5:-1].split()
        if len(fields) != 6:
            raise ValueError(
                f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
            )
        if not all(_CRON_FIELD.match(field) for field in fields):
            raise ValueError("cron fields may only hold digits, names and * ? , / - L W #")
        if (fields[2] == "?") == (fields[4] == "?"):
            raise ValueError("cron needs '?' in exactly one of day-of-month and day-of-week")
        minute = fields[0]
        if minute.isdigit() and int(minute) > 59:
            raise ValueError("cron minutes must be 0-59")
        return expression
    raise ValueError("expected 'rate(N minutes|hours|days)' or 'cron(m h dom mon dow year)'")


ScheduleExpression = Annotated[str, Field(min_length=6)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pipeline(Section):
    """A flow between two platform instances named under `platforms:`; its rules live here.

    `from`/`to` name the instances; the roles each must play are the pipeline kind's (`ROLES`), checked
    against the connectors' specs when the file is loaded.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )
    ROLES: ClassVar[tuple[Role, Role]]

    from_: str = Field(alias="from", description="the platform instance this pipeline reads from")
    to: str = Field(description="the platform instance this pipeline writes to")

    def required_roles(self) -> list[tuple[Literal["from", "to"], Role]]:
        return [("from", self.ROLES[0]), ("to", self.ROLES[1])]


class RetryConfig(Section):
    """In-process retries per call, then SQS redelivery, then the DLQ."""

    max_attempts: int = Field(3, ge=1, le=10, description="attempts per outbound call within one delivery")
    base_delay_seconds: float = Field(1.0, ge=0)
    max_delay_seconds: float = Field(20.0, ge=0)
    queue_max_receive_count: int = Field(5, ge=1, le=1000, description="deliveries before the DLQ")
    timeout_seconds: float = Field(10.0, gt=0, le=60, description="HTTP timeout per call")
    # Outlasts the submit hop's 60 s timeout, which bounds every call and retry of one attempt; at most what
    # the cancellation waits for a submit in flight (310 s). tests/unit/test_submit_lease.py holds both.
    submit_lease_seconds: int = Field(
        120,
        ge=90,
        le=300,
        description="how long one submit's claim on an order lasts; a crashed holder's "
        "claim is taken over after it, and the order is first looked up at the warehouse by its reference",
    )

    @model_validator(mode="after")
    def _ordered(self) -> RetryConfig:
        if self.max_delay_seconds < self.base_delay_seconds:
            raise ValueError("max_delay_seconds must be >= base_delay_seconds")
        return self


class OrdersPipeline(Pipeline):
    """Orders from where they are captured to where they are fulfilled: released only when ready, validated
    first, created exactly once. Statuses are in the source's own vocabulary."""

    ROLES = (Role.ORDER_SOURCE, Role.ORDER_TARGET)

    release_statuses: tuple[str, ...] = ("ORDERED",)
    hold_statuses: tuple[str, ...] = ("BACKORDERED",)
    excluded_locations: tuple[str, ...] = ()
    poll_schedule: ScheduleExpression = "rate(10 minutes)"
    poll_overlap_minutes: int = Field(5, ge=0, le=1440)
    reference_prefix: str = Field(
        min_length=1,
        max_length=12,
        pattern=r"^[A-Z0-9-]+$",
        description="the target's order reference is <prefix>-<order number>",
    )
    delivery_services: dict[str, str] = Field(description="source delivery service name -> target courier service code")
    default_delivery_service: str | None = None
    supported_countries: tuple[str, ...] = ("GB",)

    _schedule = field_validator("poll_schedule")(classmethod(lambda cls, v: validate_schedule(v)))

    @field_validator("supported_countries")
    @classmethod
    def _iso2(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in value if not re.fullmatch(r"[A-Z]{2}", c)]
        if bad:
            raise ValueError(f"countries must be ISO 3166-1 alpha-2 codes, got {bad}")
        return value


class WritebackConfig(Section):
    """Failed write-backs: retried on a schedule with backoff, escalated to a person after N attempts."""

    retry_schedule: ScheduleExpression = "rate(15 minutes)"
    backoff_base_minutes: float = Field(15, gt=0, le=1440)
    backoff_max_minutes: float = Field(720, gt=0, le=10080)
    alert_after_attempts: int = Field(4, ge=1, le=100)

    _schedule = field_validator("retry_schedule")(classmethod(lambda cls, v: validate_schedule(v)))


class ShipmentsPipeline(Pipeline):
    """Despatches from the fulfiller back to the order's source, parcel by parcel, closing the order."""

    ROLES = (Role.SHIPMENT_SOURCE, Role.SHIPMENT_TARGET)

    poll_schedule: ScheduleExpression = "rate(5 minutes)"
    poll_overlap_minutes: int = Field(10, ge=0, le=1440)
    writeback: WritebackConfig = WritebackConfig()

    _poll = field_validator("poll_schedule")(classmethod(lambda cls, v: validate_schedule(v)))


Owner = Literal["source", "warehouse"]


class CataloguePipeline(Pipeline):
    """SKU fan-out: products flow from the master to the warehouse before orders need them."""

    ROLES = (Role.CATALOGUE_SOURCE, Role.CATALOGUE_TARGET)

    poll_schedule: ScheduleExpression = "rate(15 minutes)"
    poll_overlap_minutes: int = Field(10, ge=0, le=1440)
    # Who owns each product field at the warehouse after creation. A field the warehouse owns (it
    # measures parcels itself, say) is sent when the item is created and never overwritten after.
    field_owners: dict[str, Owner] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]
            "name": "source",
            "barcode": "source",
            "commodity_code": "source",
            "country_of_origin": "source",
            "customs_description": "source",
            "weight_kg": "warehouse",
            "length_cm": "warehouse",
            "width_cm": "warehouse",
            "height_cm": "warehouse",
        }
    )
    hold_alert_minutes: int = Field(240, ge=1, le=10080, description="alert when an order waits this long")

    _schedule = field_validator("poll_schedule")(classmethod(lambda cls, v: validate_schedule(v)))

    @model_validator(mode="before")
    @classmethod
    def _owners_by_instance(cls, data: Any) -> Any:
        """An owner may be named by platform instance (`cin7`, `sfcc`): the pipeline's `from` is the source,
        its `to` the target ('warehouse', as the flow calls the side it writes to; 'target' says the same)."""
        if not isinstance(data, dict) or not isinstance(data.get("field_owners"), dict):
            return data
        sides = {data.get("from", data.get("from_")): "source", data.get("to"): "warehouse", "target": "warehouse"}
        owners = {field: sides.get(owner, owner) for field, owner in data["field_owners"].items()}
        return {**data, "field_owners": owners}

    @field_validator("field_owners")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        from shared.models.product import PRODUCT_FIELDS

        unknown = sorted(set(value) - set(PRODUCT_FIELDS))
        if unknown:
            raise ValueError(f"unknown product fields {unknown}; known: {', '.join(PRODUCT_FIELDS)}")
        return value


class StockBuffer(Section):
    """Units held back from sale to absorb sync lag: a fixed number plus a share of the figure (rounded up)."""

    units: int = Field(0, ge=0)
    percent: float = Field(0, ge=0, lt=100)


class StockPipeline(Pipeline):
    """Available-to-sell from the stock master to the stock target, as deltas, within rate limits. A target
    that takes no stock writes gets drift reports only."""

    ROLES = (Role.STOCK_MASTER, Role.STOCK_TARGET)

    def required_roles(self) -> list[tuple[Literal["from", "to"], Role]]:
        return super().required_roles() + ([("to", Role.STOCK_READER)] if self.drift_location else [])

    schedule: ScheduleExpression = "rate(15 minutes)"
    # Master location -> target location key. A location not listed is excluded: a store's shelf stock
    # (e.g. 'Retail Store') is not at the warehouse and must never be sold through it.
    locations: dict[str, str] = Field(default_factory=dict, description="master location name -> target location key")
    buffer: StockBuffer = StockBuffer()
    sku_buffers: dict[str, StockBuffer] = Field(default_factory=dict, description="per-SKU overrides")
    confirm_increases: bool = Field(True, description="an increase is pushed only when a later read still shows it")
    confirm_after_seconds: int = Field(300, ge=0, le=86400, description="how much later that read must be")
    push_batch_size: int = Field(100, ge=1, le=1000, description="rows per target call (capped by the connector)")
    skus_per_message: int = Field(100, ge=1, le=500)
    event_window_seconds: int = Field(
        0,
        ge=0,
        le=300,
        description="how long the pusher's queue gathers messages before one invocation takes them (the SQS "
        "event source's MaximumBatchingWindowInSeconds): the master's stock events of one window are served by "
        "one availability read, and a decrease reaches the target up to this much later; 0 delivers at once",
    )
    messages_per_invocation: int = Field(
        5,
        ge=1,
        le=50,
        description="stock-sync messages one push_stock invocation takes (the event source's batch size); above "
        "10 Lambda needs event_window_seconds of at least 1",
    )
    full_read_minutes: int = Field(
        1440,
        ge=5,
        le=10080,
        description="a master read by its changed-since feed is still read in full this often (and on the first "
        "run), so a row the feed never lists again (a SKU withdrawn) is not left standing",
    )
    reconcile_schedule: ScheduleExpression = "rate(1 hour)"
    drift_location: str | None = Field(None, description="the master location that mirrors the warehouse")
    drift_threshold_units: int = Field(2, ge=0, description="a SKU drifting by more than this is an exception")
    correct_drift: bool = Field(False, description="cap the target at the warehouse's figure when it is lower")

    _schedules = field_validator("schedule", "reconcile_schedule")(classmethod(lambda cls, v: validate_schedule(v)))

    @model_validator(mode="after")
    def _batch_lambda_accepts(self) -> StockPipeline:
        """Lambda refuses an SQS batch above 10 without a batching window. The ceiling of 50: each message
        is a compute served by the invocation's one master read and a target call per push_batch_size rows,
        so 50 fit in push_stock's 60 s, and the rate budget leaves what would run past it for later."""
        if self.messages_per_invocation > 10 and self.event_window_seconds < 1:
            raise ValueError("stock.messages_per_invocation above 10 needs stock.event_window_seconds of at least 1")
        return self

    @model_validator(mode="after")
    def _mirror_is_mapped(self) -> StockPipeline:
        if not self.locations:
            raise ValueError("stock.locations must map at least one master location when stock sync is enabled")
        if self.drift_location is not None and self.drift_location not in self.locations:
            raise ValueError(
                f"drift_location '{self.drift_location}' must be one of the mapped locations {sorted(self.locations)}"
            )
        return self


class CancellationPipeline(Pipeline):
    """State-aware cancellation from the order's source to where it is fulfilled. What a cancel does at each
    status is the target's table (its card), overridden per status in the target platform's `cancel_rules`."""

    ROLES = (Role.CANCEL_SOURCE, Role.CANCEL_TARGET)

    def required_roles(self) -> list[tuple[Literal["from", "to"], Role]]:
        return super().required_roles() + ([("from", Role.NOTE_TARGET)] if self.notify_source else [])

    notify_source: bool = Field(True, description="write the outcome back to the source order (a note)")

    @model_validator(mode="before")
    @classmethod
    def _no_neutral_cutoff(cls, data: object) -> object:
        if isinstance(data, dict) and "cutoff" in data:
            raise ValueError(
                "cancellation.cutoff is gone: a neutral status cannot say what the warehouse allows. "
                "Use the target platform's cancel_rules (per warehouse status id: cancel, "
                "raise_with_warehouse or refuse_and_return); the card's table is the default"
            )
        return data


# Hard ceilings for the configurable bounds: below them every Decimal sum or product an order needs is
# exact in DynamoDB's number context (38 digits), and every key we build stays under the store limits.
MAX_QUANTITY_CEILING = 10**9
MAX_PRICE_CEILING = 10**12


class BoundsConfig(Section):
    """What may travel, checked where input enters: a webhook, a queue message, a sale read from the source.

    Input outside these bounds is quarantined with its own reason before any write to the warehouse or
    a store, so an absurd quantity, a 300,000-character id or a 10 MB body never reaches a DLQ. Only
    platform-neutral bounds live here: the format of a platform's record ids is its connector's
    (`ConnectorSpec.id_pattern`).
    """

    max_id_length: int = Field(64, ge=1, le=512, description="any id or reference a message carries")
    max_text_length: int = Field(1000, ge=1, le=10000, description="any other text field a message carries")
    max_sku_length: int = Field(50, ge=1, le=200, description="Cin7 and Scend cap SKUs at 50")
    max_quantity_per_line: int = Field(100_000, ge=1, le=MAX_QUANTITY_CEILING)
    max_unit_price: int = Field(1_000_000, ge=1, le=MAX_PRICE_CEILING, description="in the order's currency")
    max_lines_per_order: int = Field(500, ge=1, le=5000)
    max_body_bytes: int = Field(
        256 * 1024,
        ge=1024,
        le=6 * 1024 * 1024,
        description="webhook body; API Gateway's own cap is 10 MB, Lambda's 6 MB",
    )
    max_skus_per_message: int = Field(1000, ge=1, le=10000, description="SKUs in one stock event or message")

    @model_validator(mode="before")
    @classmethod
    def _no_platform_id_format(cls, data: Any) -> Any:
        if isinstance(data, dict) and "source_id_pattern" in data:
            raise ValueError(
                "bounds.source_id_pattern is gone: the format of a platform's record ids is its connector's "
                "(ConnectorSpec.id_pattern, e.g. Cin7 Core's GUID sale ids in shared/connectors/cin7_core); "
                "remove the key"
            )
        return data


class ArchiveConfig(Section):
    retention_days: int = Field(90, ge=1, le=3650)


class StageSlaConfig(Section):
    """Minutes an order may stay at one stage before the monitor opens an order_stalled exception."""

    received_to_released: int = Field(30, ge=1, le=10080, description="intake has not decided on the order")
    released_to_warehouse: int = Field(15, ge=1, le=10080, description="ready in the source, not at the warehouse")
    warehouse_to_shipped: int = Field(2880, ge=1, le=43200, description="at the warehouse, no parcel despatched")
    shipped_to_written_back: int = Field(60, ge=1, le=10080, description="despatched, tracking not written back")


class MismatchConfig(Section):
    """Live reads of warehouse status, bounded so the monitor never eats the warehouse's rate budget."""

    min_age_minutes: int = Field(60, ge=1, le=10080, description="only orders at the warehouse at least this long")
    recheck_minutes: int = Field(120, ge=1, le=10080, description="an order is read again no sooner than this")
    max_per_run: int = Field(
        10,
        ge=0,
        le=100,
        description="reads of one order per monitor run (0 turns the check off); where the warehouse lists changed "
        "orders, one listing answers the rest",
    )
    despatched_grace_minutes: int = Field(
        90, ge=1, le=10080, description="despatched at the warehouse this long ago with nothing written back"
    )


class MonitoringConfig(Section):
    """The order monitor: runs often enough that a breached SLA alerts within five minutes."""

    schedule: ScheduleExpression = "rate(1 minute)"
    subscription_schedule: ScheduleExpression = Field(
        "rate(15 minutes)", description="how often a platform's subscription status is read (where one delivers)"
    )
    sla_minutes: StageSlaConfig = StageSlaConfig()
    mismatch: MismatchConfig = MismatchConfig()
    quarantine_alarm_threshold: int = Field(
        10, ge=1, le=100000, description="exceptions raised within 15 minutes that page operations"
    )
    backlog_alarm_seconds: int = Field(
        600,
        ge=60,
        le=86400,
        description="the oldest released order waiting this long for the target (at peak, behind its rate budget) "
        "pages operations; `hopline backlog` shows every flow's",
    )

    _subscription_schedule = field_validator("subscription_schedule")(classmethod(lambda cls, v: validate_schedule(v)))

    @field_validator("schedule")
    @classmethod
    def _frequent(cls, value: str) -> str:
        validate_schedule(value)
        rate = _RATE.match(value)
        if rate is None or not rate.group(2).startswith("minute") or int(rate.group(1)) > 4:
            raise ValueError(
                "the monitor must run at least every 4 minutes (rate(1 minute) .. rate(4 minutes)) "
                "so that a breach alerts within 5 minutes"
            )
        return value


class AlertsConfig(Section):
    operations_email: str | None = None
    ecommerce_email: str | None = None
    finance_email: str | None = None


class ReturnsPipeline(Pipeline):
    """Returns the warehouse booked in, recorded on the order they came from with what became of the goods."""

    ROLES = (Role.RETURN_SOURCE, Role.RETURN_TARGET)

    poll_schedule: ScheduleExpression = "rate(1 hour)"
    poll_overlap_minutes: int = Field(60, ge=0, le=2880)
    first_lookback_days: int = Field(7, ge=1, le=60, description="how far back the first poll reads")

    _poll = field_validator("poll_schedule")(classmethod(lambda cls, v: validate_schedule(v)))


class ReconciliationPipeline(Pipeline):
    """Daily: the warehouse's despatches and order states against the orders at their source; a dated report
    and an alarm on gaps. Reads the warehouse through the orders and shipments pipelines' platforms."""

    ROLES = (Role.SHIPMENT_SOURCE, Role.ORDER_RECORDS)

    schedule: ScheduleExpression = "cron(0 5 * * ? *)"
    lookback_hours: int = Field(48, ge=1, le=336, description="orders and despatches of this window are compared")
    max_orders: int = Field(2000, ge=1, le=50000, description="warehouse reads per run, at most")

    _schedule = field_validator("schedule")(classmethod(lambda cls, v: validate_schedule(v)))


class SkuAuditPipeline(Pipeline):
    """Daily: the SKUs the shop sells against the warehouse's catalogue, both ways, and stock held at the shop
    for an item the warehouse lacks; a dated report and an alarm for ecommerce."""

    ROLES = (Role.CATALOGUE_AUDIT, Role.SKU_LISTING)

    schedule: ScheduleExpression = "cron(30 5 * * ? *)"

    _schedule = field_validator("schedule")(classmethod(lambda cls, v: validate_schedule(v)))


class Pipelines(Section):
    """The flows this client runs; a pipeline left out is not deployed."""

    orders: OrdersPipeline | None = None
    shipments: ShipmentsPipeline | None = None
    catalogue: CataloguePipeline | None = None
    stock: StockPipeline | None = None
    cancellation: CancellationPipeline | None = None
    returns: ReturnsPipeline | None = None
    reconciliation: ReconciliationPipeline | None = None
    sku_audit: SkuAuditPipeline | None = None

    @model_validator(mode="after")
    def _reconciliation_reads_through_orders_and_shipments(self) -> Pipelines:
        if self.reconciliation is not None:
            if self.orders is None or self.shipments is None:
                raise ValueError("pipelines.reconciliation needs the orders and shipments pipelines")
            if (self.reconciliation.from_, self.reconciliation.to) != (self.shipments.from_, self.orders.from_):
                raise ValueError(
                    "pipelines.reconciliation: from must be the shipments pipeline's from (the warehouse), "
                    "to the orders pipeline's from (the order source)"
                )
        return self

    def enabled(self) -> dict[str, Pipeline]:
        return {name: p for name in type(self).model_fields if (p := getattr(self, name)) is not None}


class ClientConfig(Section):
    """One client brand's deployment: which platforms, how they are reached, and its rules."""

    client: str = Field(description="lower-case id, used in resource names")
    display_name: str = ""
    region: str = "eu-west-2"
    account: str | None = Field(None, pattern=r"^\d{12}$")
    platforms: dict[str, SerializeAsAny[PlatformSettings]] = Field(
        description="platform instances by the name pipelines use; each entry's `type` picks its connector"
    )
    pipelines: Pipelines
    retries: RetryConfig = RetryConfig()
    bounds: BoundsConfig = BoundsConfig()
    archive: ArchiveConfig = ArchiveConfig()
    alerts: AlertsConfig = AlertsConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("client")
    @classmethod
    def _client_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 3-40 of a-z, 0-9 and '-', starting with a letter")
        return value

    @field_validator("platforms", mode="before")
    @classmethod
    def _platform_settings(cls, value: Any) -> Any:
        """Each entry is validated by its own connector's settings model, picked by `type`."""
        from shared.connectors.registry import spec_for

        if not isinstance(value, dict):
            return value
        problems: list[tuple[str, str]] = []
        settings: dict[str, Any] = {}
        for name, raw in value.items():
            if not isinstance(name, str) or not _INSTANCE.match(name):
                problems.append((f"{name}", "instance names are 1-30 of a-z, 0-9 and '_', starting with a letter"))
                continue
            if isinstance(raw, PlatformSettings):
                settings[name] = raw
                continue
            kind = raw.get("type") if isinstance(raw, dict) else None
            if not isinstance(kind, str):
                problems.append((f"{name}.type", "required: the connector, e.g. cin7_core or scend"))
                continue
            try:
                settings[name] = spec_for(kind).settings.model_validate(raw)
            except ValueError as error:
                if not isinstance(error, ValidationError):
                    problems.append((f"{name}.type", str(error)))
                    continue
                for item in error.errors():
                    path = ".".join(str(part) for part in item["loc"])
                    problems.append((f"{name}.{path}" if path else name, _message(item)))
        if problems:
            raise PydanticCustomError(
                "platform_settings", "{count} problem(s) in platforms", {"count": len(problems), "problems": problems}
            )
        return settings

    @model_validator(mode="after")
    def _pipelines_fit_platforms(self) -> ClientConfig:
        """A pipeline may only ask a platform for a role its connector offers (checked at synth)."""
        problems: list[tuple[str, str]] = []
        for kind, pipeline in self.pipelines.enabled().items():
            for side, role in pipeline.required_roles():
                name = pipeline.from_ if side == "from" else pipeline.to
                settings = self.platforms.get(name)
                if settings is None:
                    problems.append(
                        (
                            f"pipelines.{kind}.{side}",
                            f"no platform named '{name}' (platforms: {', '.join(sorted(self.platforms)) or 'none'})",
                        )
                    )
                    continue
                spec = self.spec(name)
                if role not in spec.roles:
                    problems.append(
                        (
                            f"pipelines.{kind}.{side}",
                            f"{spec.title} ('{name}') cannot play {role.value}; it offers "
                            f"{', '.join(sorted(r.value for r in spec.roles))}",
                        )
                    )
        if problems:
            raise PydanticCustomError(
                "config_problems", "{count} problem(s) in pipelines", {"count": len(problems), "problems": problems}
            )
        return self

    # -- lookups ----------------------------------------------------------------------------------
    def spec(self, platform: str) -> ConnectorSpec:
        from shared.connectors.registry import spec_for

        return spec_for(self.platforms[platform].type)

    def id_pattern(self, platform_type: str) -> str | None:
        """The regex the record ids of a platform type match (its connector's), or None: no fixed format."""
        from shared.connectors.registry import known, spec_for

        return spec_for(platform_type).id_pattern if platform_type in known() else None

    def ends(self, pipeline: str) -> tuple[PlatformSettings, PlatformSettings]:
        """The (from, to) platform settings of an enabled pipeline."""
        chosen = getattr(self.pipelines, pipeline)
        if chosen is None:
            raise ConfigError(f"{self.client}: pipeline '{pipeline}' is not configured")
        return self.platforms[chosen.from_], self.platforms[chosen.to]

    def platform_for(self, role: Role) -> str:
        """The platform instance that plays `role` (e.g. the orders pipeline's `from` is the order source)."""
        pipeline, side = ROLE_ENDS[role]
        chosen = getattr(self.pipelines, pipeline)
        if chosen is None:
            raise ConfigError(f"{self.client}: no pipelines.{pipeline}, so no platform is the {role.value}")
        return str(chosen.from_ if side == "from" else chosen.to)

    def plays(self, role: Role) -> bool:
        return getattr(self.pipelines, ROLE_ENDS[role][0]) is not None

    def settings_for(self, role: Role) -> PlatformSettings:
        return self.platforms[self.platform_for(role)]

    def with_platform(self, name: str, **changes: Any) -> ClientConfig:
        """A copy with one platform instance's settings changed (a simulator's URL, a switch in a test)."""
        return self.model_copy(
            update={"platforms": {**self.platforms, name: self.platforms[name].model_copy(update=changes)}}
        )

    def with_role_platform(self, role: Role, **changes: Any) -> ClientConfig:
        return self.with_platform(self.platform_for(role), **changes)

    def _pipeline(self, name: str) -> Any:
        chosen = getattr(self.pipelines, name)
        if chosen is None:
            raise ConfigError(f"{self.client}: pipelines.{name} is not configured")
        return chosen

    # The rules of each pipeline; a hop only runs when its pipeline is configured.
    @property
    def orders(self) -> OrdersPipeline:
        return cast(OrdersPipeline, self._pipeline("orders"))

    @property
    def shipments(self) -> ShipmentsPipeline:
        return cast(ShipmentsPipeline, self._pipeline("shipments"))

    @property
    def catalogue(self) -> CataloguePipeline:
        return cast(CataloguePipeline, self._pipeline("catalogue"))

    @property
    def stock(self) -> StockPipeline:
        return cast(StockPipeline, self._pipeline("stock"))

    @property
    def cancellation(self) -> CancellationPipeline:
        return cast(CancellationPipeline, self._pipeline("cancellation"))

    @property
    def reconciliation(self) -> ReconciliationPipeline:
        return cast(ReconciliationPipeline, self._pipeline("reconciliation"))

    @property
    def returns(self) -> ReturnsPipeline:
        return cast(ReturnsPipeline, self._pipeline("returns"))

    def to_env(self) -> str:
        """Compact JSON for the Lambda environment (no secrets live in the config, only their names)."""
        return self.model_dump_json(exclude_none=True, by_alias=True)


# Which end of which pipeline plays each role: a hop names the roles it calls, the config names platforms.
ROLE_ENDS: dict[Role, tuple[str, Literal["from", "to"]]] = {
    Role.ORDER_SOURCE: ("orders", "from"),
    Role.ORDER_TARGET: ("orders", "to"),
    Role.SHIPMENT_SOURCE: ("shipments", "from"),
    Role.SHIPMENT_TARGET: ("shipments", "to"),
    Role.CATALOGUE_SOURCE: ("catalogue", "from"),
    Role.CATALOGUE_TARGET: ("catalogue", "to"),
    Role.STOCK_MASTER: ("stock", "from"),
    Role.STOCK_TARGET: ("stock", "to"),
    Role.STOCK_READER: ("stock", "to"),
    Role.CANCEL_SOURCE: ("cancellation", "from"),
    Role.CANCEL_TARGET: ("cancellation", "to"),
    Role.NOTE_TARGET: ("cancellation", "from"),
    Role.RETURN_SOURCE: ("returns", "from"),
    Role.RETURN_TARGET: ("returns", "to"),
    Role.ORDER_RECORDS: ("reconciliation", "to"),
    Role.CATALOGUE_AUDIT: ("sku_audit", "from"),
    Role.SKU_LISTING: ("sku_audit", "to"),
}


def _format_errors(origin: str, error: ValidationError) -> str:
    lines = [f"{origin}: invalid client config ({error.error_count()} problem(s))"]
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] in ("platform_settings", "config_problems"):
            for path, message in item.get("ctx", {}).get("problems", []):
                where = path if item["type"] == "config_problems" else f"{field}.{path}"
                lines.append(f"  {origin}: field '{where}': {message}")
            continue
        lines.append(f"  {origin}: field '{field}': {_message(item)}")
    return "\n".join(lines)


def _message(item: Any) -> str:
    if item["type"] == "extra_forbidden":
        return "unknown key (check spelling; see infra/clients/example-cin7-scend.yaml)"
    if item["type"] == "missing":
        return "required field is missing"
    return str(item["msg"])


def load_client_config(path: str | Path) -> ClientConfig:
    """Read and validate a client YAML; raise ConfigError naming the file, field and problem."""
    import yaml  # synth-time only: the Lambda bundle reads the config from its environment, not YAML

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: client config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        config = ClientConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(str(path), exc)) from exc
    if config.client != path.stem:
        raise ConfigError(f"{path}: field 'client': '{config.client}' must match the file name '{path.stem}'")
    return config


def config_for_client(name: str, clients_dir: Path = CLIENTS_DIR) -> ClientConfig:
    """Resolve `-c client=NAME` to infra/clients/NAME.yaml."""
    if not _NAME.match(name):
        raise ConfigError(f"client name '{name}' is not valid (3-40 of a-z, 0-9 and '-')")
    return load_client_config(clients_dir / f"{name}.yaml")


def config_from_env(environ: dict[str, str] | None = None) -> ClientConfig:
    """The run-time view: the stack puts the validated config into the function environment."""
    environ = environ if environ is not None else dict(os.environ)
    raw = environ.get(CLIENT_CONFIG_ENV)
    if not raw:
        raise ConfigError(f"environment variable {CLIENT_CONFIG_ENV} is not set")
    try:
        return ClientConfig.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"{CLIENT_CONFIG_ENV}: invalid client config: {exc}") from exc
