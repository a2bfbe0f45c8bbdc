"""Per-client configuration: validated once from YAML at synth time, and from the environment at run time.

A config mistake must fail `cdk synth` with a message naming the file, the field and the problem, so
every model here forbids unknown keys and validates values (schedules, secret names, retry counts).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.errors import ConfigError
from shared.models.warehouse import CancelRule

CLIENT_CONFIG_ENV = "HOPLINE_CLIENT_CONFIG"
CLIENTS_DIR = Path(__file__).resolve().parent.parent / "infra" / "clients"

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
# Secrets Manager names: 1-512 of letters, digits and /_+=.@-
_SECRET = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
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
SecretName = Annotated[str, Field(min_length=1, max_length=512, pattern=_SECRET.pattern)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cin7CoreSourceConfig(Section):
    """The order/inventory master when it is Cin7 Core."""

    platform: Literal["cin7_core"] = "cin7_core"
    base_url: str = "https://inventory.dearsystems.com/ExternalApi/v2/"
    credentials_secret: SecretName = Field(description="JSON {account_id, application_key}")
    webhook_secret: SecretName = Field(description="shared secret Cin7 sends in the webhook header")
    webhook_header: str = "X-Hopline-Webhook-Secret"
    release_statuses: tuple[str, ...] = ("ORDERED",)
    hold_statuses: tuple[str, ...] = ("BACKORDERED",)
    excluded_locations: tuple[str, ...] = ()
    poll_schedule: ScheduleExpression = "rate(10 minutes)"
    poll_overlap_minutes: int = Field(5, ge=0, le=1440)
    page_limit: int = Field(100, ge=1, le=1000, description="Cin7 page size, 1-1000")
    calls_per_minute: int = Field(60, ge=1, le=60, description="Cin7: 60 calls/min per application")

    _schedule = field_validator("poll_schedule")(classmethod(lambda cls, v: validate_schedule(v)))


class ScendWarehouseConfig(Section):
    """The 3PL warehouse when it is Scend."""

    platform: Literal["scend"] = "scend"
    base_url: str = "https://api.scend.example/api/"
    credentials_secret: SecretName = Field(description="JSON {api_key}")
    client_id: int = Field(0, ge=0, description="warehouse-side client id for master keys; 0 = key's own")
    warehouse_id: int | None = Field(None, ge=0)
    channel: str = "API"
    # Scend publishes no limit; Cloudflare throttles per source IP [I]. A conservative default, per client.
    calls_per_minute: int = Field(120, ge=1, le=6000)
    client_reference_prefix: str = Field(min_length=1, max_length=12, pattern=r"^[A-Z0-9-]+$")
    delivery_services: dict[str, str] = Field(
        description="source delivery service name -> warehouse courier service code"
    )
    default_delivery_service: str | None = None
    supported_countries: tuple[str, ...] = ("GB",)
    despatch_poll_schedule: ScheduleExpression = "rate(5 minutes)"
    despatch_poll_overlap_minutes: int = Field(10, ge=0, le=1440)
    # The card lists no stock write (question 5 to Scend). Name the endpoint Scend gives, under /api/;
    # leave it out when the warehouse accepts no stock writes: the stock flow then reports drift only.
    stock_write_endpoint: str | None = Field(
        None, pattern=r"^[A-Za-z][A-Za-z0-9_/-]{0,199}$",
        description="INFERRED stock write endpoint (POST, path under /api/), e.g. Product/ChannelStockLevels; "
        "unset = the warehouse does not accept stock writes",
    )
    cancel_rules: dict[int, CancelRule] = Field(
        default_factory=dict,
        description="per warehouse status id: cancel | raise_with_warehouse | refuse_and_return; "
        "overrides the card's table (shared/connectors/scend/statuses.py)",
    )

    _despatch_schedule = field_validator("despatch_poll_schedule")(
        classmethod(lambda cls, v: validate_schedule(v))
    )

    @field_validator("cancel_rules")
    @classmethod
    def _known_statuses(cls, value: dict[int, CancelRule]) -> dict[int, CancelRule]:
        from shared.connectors.scend.statuses import cancel_rules

        cancel_rules(value)  # refuses an id Scend does not have
        return value

    @field_validator("supported_countries")
    @classmethod
    def _iso2(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in value if not re.fullmatch(r"[A-Z]{2}", c)]
        if bad:
            raise ValueError(f"countries must be ISO 3166-1 alpha-2 codes, got {bad}")
        return value


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
        120, ge=90, le=300, description="how long one submit's claim on an order lasts; a crashed holder's "
        "claim is taken over after it, and the order is first looked up at the warehouse by its reference")

    @model_validator(mode="after")
    def _ordered(self) -> RetryConfig:
        if self.max_delay_seconds < self.base_delay_seconds:
            raise ValueError("max_delay_seconds must be >= base_delay_seconds")
        return self


class WritebackConfig(Section):
    """Failed write-backs: retried on a schedule with backoff, escalated to a person after N attempts."""

    retry_schedule: ScheduleExpression = "rate(15 minutes)"
    backoff_base_minutes: float = Field(15, gt=0, le=1440)
    backoff_max_minutes: float = Field(720, gt=0, le=10080)
    alert_after_attempts: int = Field(4, ge=1, le=100)

    _schedule = field_validator("retry_schedule")(classmethod(lambda cls, v: validate_schedule(v)))


Owner = Literal["source", "warehouse"]


class CatalogueConfig(Section):
    """SKU fan-out: products flow from the master to the warehouse before orders need them."""

    poll_schedule: ScheduleExpression = "rate(15 minutes)"
    poll_overlap_minutes: int = Field(10, ge=0, le=1440)
    # Who owns each product field at the warehouse after creation. A field the warehouse owns (it
    # measures parcels itself, say) is sent when the item is created and never overwritten after.
    field_owners: dict[str, Owner] = Field(default_factory=lambda: {  # type: ignore[arg-type]
        "name": "source", "barcode": "source", "commodity_code": "source", "country_of_origin": "source",
        "customs_description": "source", "weight_kg": "warehouse", "length_cm": "warehouse",
        "width_cm": "warehouse", "height_cm": "warehouse",
    })
    hold_alert_minutes: int = Field(240, ge=1, le=10080, description="alert when an order waits this long")

    _schedule = field_validator("poll_schedule")(classmethod(lambda cls, v: validate_schedule(v)))

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


class StockConfig(Section):
    """Available-to-sell from the inventory master to the stock target, as deltas, within rate limits."""

    enabled: bool = False
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
    reconcile_schedule: ScheduleExpression = "rate(1 hour)"
    drift_location: str | None = Field(None, description="the master location that mirrors the warehouse")
    drift_threshold_units: int = Field(2, ge=0, description="a SKU drifting by more than this is an exception")
    correct_drift: bool = Field(False, description="cap the target at the warehouse's figure when it is lower")

    _schedules = field_validator("schedule", "reconcile_schedule")(classmethod(lambda cls, v: validate_schedule(v)))

    @model_validator(mode="after")
    def _mirror_is_mapped(self) -> StockConfig:
        if self.enabled and not self.locations:
            raise ValueError("stock.locations must map at least one master location when stock sync is enabled")
        if self.drift_location is not None and self.drift_location not in self.locations:
            raise ValueError(f"drift_location '{self.drift_location}' must be one of the mapped locations "
                             f"{sorted(self.locations)}")
        return self


class CancellationConfig(Section):
    """State-aware cancellation. What a cancel does at each warehouse status is the warehouse's table
    (its card), overridden per status in `warehouse.cancel_rules`."""

    notify_source: bool = Field(True, description="write the outcome back to the source order (a note)")

    @model_validator(mode="before")
    @classmethod
    def _no_neutral_cutoff(cls, data: object) -> object:
        if isinstance(data, dict) and "cutoff" in data:
            raise ValueError("cancellation.cutoff is gone: a neutral status cannot say what the warehouse allows. "
                             "Use warehouse.cancel_rules (per warehouse status id: cancel, raise_with_warehouse or "
                             "refuse_and_return); the card's table is the default")
        return data


# A Cin7 Core id (SaleID, TaskID, ProductID) is a GUID; webhooks send it in upper case, the API in lower.
GUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
# Hard ceilings for the configurable bounds: below them every Decimal sum or product an order needs is
# exact in DynamoDB's number context (38 digits), and every key we build stays under the store limits.
MAX_QUANTITY_CEILING = 10**9
MAX_PRICE_CEILING = 10**12


class BoundsConfig(Section):
    """What may travel, checked where input enters: a webhook, a queue message, a sale read from the source.

    Input outside these bounds is quarantined with its own reason before any write to the warehouse or
    a store, so an absurd quantity, a 300,000-character id or a 10 MB body never reaches a DLQ.
    """

    source_id_pattern: str = Field(GUID_PATTERN, description="regex a source order id must match")
    max_id_length: int = Field(64, ge=1, le=512, description="any id or reference a message carries")
    max_text_length: int = Field(1000, ge=1, le=10000, description="any other text field a message carries")
    max_sku_length: int = Field(50, ge=1, le=200, description="Cin7 and Scend cap SKUs at 50")
    max_quantity_per_line: int = Field(100_000, ge=1, le=MAX_QUANTITY_CEILING)
    max_unit_price: int = Field(1_000_000, ge=1, le=MAX_PRICE_CEILING, description="in the order's currency")
    max_lines_per_order: int = Field(500, ge=1, le=5000)
    max_body_bytes: int = Field(256 * 1024, ge=1024, le=6 * 1024 * 1024,
                                description="webhook body; API Gateway's own cap is 10 MB, Lambda's 6 MB")
    max_skus_per_message: int = Field(1000, ge=1, le=10000, description="SKUs in one stock event or message")

    @field_validator("source_id_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


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
    max_per_run: int = Field(10, ge=0, le=100, description="warehouse reads per monitor run")
    despatched_grace_minutes: int = Field(
        90, ge=1, le=10080, description="despatched at the warehouse this long ago with nothing written back"
    )


class MonitoringConfig(Section):
    """The order monitor: runs often enough that a breached SLA alerts within five minutes."""

    schedule: ScheduleExpression = "rate(1 minute)"
    sla_minutes: StageSlaConfig = StageSlaConfig()
    mismatch: MismatchConfig = MismatchConfig()
    quarantine_alarm_threshold: int = Field(
        10, ge=1, le=100000, description="exceptions raised within 15 minutes that page operations"
    )

    @field_validator("schedule")
    @classmethod
    def _frequent(cls, value: str) -> str:
        validate_schedule(value)
        rate = _RATE.match(value)
        if rate is None or not rate.group(2).startswith("minute") or int(rate.group(1)) > 4:
            raise ValueError("the monitor must run at least every 4 minutes (rate(1 minute) .. rate(4 minutes)) "
                             "so that a breach alerts within 5 minutes")
        return value


class AlertsConfig(Section):
    operations_email: str | None = None
    ecommerce_email: str | None = None
    finance_email: str | None = None


class ClientConfig(Section):
    """One client brand's deployment: which platforms, how they are reached, and its rules."""

    client: str = Field(description="lower-case id, used in resource names")
    display_name: str = ""
    region: str = "eu-west-2"
    account: str | None = Field(None, pattern=r"^\d{12}$")
    source: Cin7CoreSourceConfig
    warehouse: ScendWarehouseConfig
    retries: RetryConfig = RetryConfig()
    writeback: WritebackConfig = WritebackConfig()
    catalogue: CatalogueConfig = CatalogueConfig()
    stock: StockConfig = StockConfig()
    bounds: BoundsConfig = BoundsConfig()
    cancellation: CancellationConfig = CancellationConfig()
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

    def to_env(self) -> str:
        """Compact JSON for the Lambda environment (no secrets live in the config, only their names)."""
        return self.model_dump_json(exclude_none=True)


def _format_errors(origin: str, error: ValidationError) -> str:
    lines = [f"{origin}: invalid client config ({error.error_count()} problem(s))"]
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check spelling; see infra/clients/example-cin7-scend.yaml)"
        elif item["type"] == "missing":
            message = "required field is missing"
        lines.append(f"  {origin}: field '{field}': {message}")
    return "\n".join(lines)


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
