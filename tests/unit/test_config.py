"""Client config: the example loads, and each kind of mistake names the file, the field and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shared.config import ClientConfig, config_from_env, load_client_config, validate_schedule
from shared.connectors.spec import Role
from shared.errors import ConfigError
from tests.conftest import EXAMPLE


def write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(EXAMPLE.read_text())
    mutate(data)
    path = tmp_path / "example-cin7-scend.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_example_config_loads(example_config: ClientConfig) -> None:
    assert example_config.client == "example-cin7-scend"
    assert "Retail Store" in example_config.orders.excluded_locations
    assert example_config.orders.delivery_services["Royal Mail Tracked 48"] == "RM-TRACKED-48"
    assert example_config.platform_for(Role.ORDER_SOURCE) == "cin7"
    assert example_config.platform_for(Role.SHIPMENT_TARGET) == "cin7"
    assert example_config.platform_for(Role.STOCK_TARGET) == "scend"
    assert type(example_config.platforms["scend"]).__name__ == "ScendSettings"


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (lambda d: d["platforms"]["cin7"].update(webhook_secrt="x"), "platforms.cin7.webhook_secrt", "unknown key"),
        (
            lambda d: d["platforms"]["scend"].pop("credentials_secret"),
            "platforms.scend.credentials_secret",
            "required field is missing",
        ),
        (lambda d: d["platforms"]["scend"].update(type="scnd"), "platforms.scend.type", "unknown platform type"),
        (lambda d: d["platforms"]["cin7"].pop("type"), "platforms.cin7.type", "required"),
        (
            lambda d: d["pipelines"]["orders"].update(poll_schedule="cron(0 12 * * *)"),
            "pipelines.orders.poll_schedule",
            "cron needs 6 fields",
        ),
        (lambda d: d["pipelines"]["orders"].update(to="wh"), "pipelines.orders.to", "no platform named 'wh'"),
        # A pipeline asking a platform for a role its connector does not offer fails at synth
        (
            lambda d: d["pipelines"]["orders"].update({"from": "scend", "to": "cin7"}),
            "pipelines.orders.from",
            "Scend ('scend') cannot play order_source",
        ),
        (
            lambda d: d["pipelines"]["stock"].update(to="cin7"),
            "pipelines.stock.to",
            "Cin7 Core ('cin7') cannot play stock_target",
        ),
        (
            lambda d: d["retries"].update(queue_max_receive_count=-1),
            "retries.queue_max_receive_count",
            "greater than or equal to 1",
        ),
        (lambda d: d["retries"].update(max_attempts=-2), "retries.max_attempts", "greater than or equal to 1"),
        (
            lambda d: d["platforms"]["cin7"].update(credentials_secret=""),
            "platforms.cin7.credentials_secret",
            "at least 1 character",
        ),
        (
            lambda d: d["pipelines"]["orders"].update(supported_countries=["England"]),
            "pipelines.orders.supported_countries",
            "ISO 3166-1",
        ),
    ],
)
def test_config_mistakes_name_file_field_and_problem(tmp_path: Path, mutate, field: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    # Given a client file with one mistake
    path = write(tmp_path, mutate)
    # When it is loaded
    with pytest.raises(ConfigError) as error:
        load_client_config(path)
    # Then the message names the file, the field and the problem
    message = str(error.value)
    assert str(path) in message
    assert f"field '{field}'" in message
    assert problem in message


def test_client_name_must_match_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.update(client="other-client"))
    with pytest.raises(ConfigError, match="must match the file name"):
        load_client_config(path)


def test_missing_file_and_bad_yaml_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_client_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("client: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_client_config(broken)


@pytest.mark.parametrize(
    "good", ["rate(1 minute)", "rate(10 minutes)", "rate(2 hours)", "cron(0/5 * * * ? *)", "cron(15 10 ? * MON-FRI *)"]
)
def test_valid_schedules(good: str) -> None:
    assert validate_schedule(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "every 5 minutes",
        "cron(0 12 * * * *)",
        "cron(99 * ? * * *)",
    ],
)
def test_invalid_schedules(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        validate_schedule(bad)


def test_runtime_config_round_trips_through_the_environment(example_config: ClientConfig) -> None:
    assert config_from_env({"HOPLINE_CLIENT_CONFIG": example_config.to_env()}) == example_config
    with pytest.raises(ConfigError, match="not set"):
        config_from_env({})


def test_a_pipeline_left_out_is_not_configured_and_its_roles_are_unplayed(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d["pipelines"].pop("stock"))
    config = load_client_config(path)
    assert not config.plays(Role.STOCK_MASTER)
    with pytest.raises(ConfigError, match=r"pipelines.stock is not configured"):
        _ = config.stock


def _stock_batching(tmp_path: Path, **values: int) -> ClientConfig:
    return load_client_config(write(tmp_path, lambda d: d["pipelines"]["stock"].update(values)))


@pytest.mark.parametrize(
    ("values", "field", "problem"),
    [
        ({"event_window_seconds": -1}, "event_window_seconds", "greater than or equal to 0"),
        ({"event_window_seconds": 301}, "event_window_seconds", "less than or equal to 300"),
        ({"messages_per_invocation": 0}, "messages_per_invocation", "greater than or equal to 1"),
        ({"messages_per_invocation": 51}, "messages_per_invocation", "less than or equal to 50"),
        ({"event_window_seconds": 0, "messages_per_invocation": 11}, "", "needs stock.event_window_seconds"),
    ],
)
def test_the_stock_pushers_batching_window_and_batch_stay_within_what_lambda_accepts(
    tmp_path: Path, values: dict[str, int], field: str, problem: str
) -> None:
    # SQS event sources take a window of 0-300 s, and more than 10 messages a batch only with a window
    with pytest.raises(ConfigError) as error:
        _stock_batching(tmp_path, **values)
    assert problem in str(error.value)
    assert f"pipelines.stock{'.' + field if field else ''}" in str(error.value)


def test_the_stock_pushers_batching_window_bounds_are_accepted_and_default_to_none(tmp_path: Path) -> None:
    widest = _stock_batching(tmp_path, event_window_seconds=300, messages_per_invocation=50).stock
    assert (widest.event_window_seconds, widest.messages_per_invocation) == (300, 50)
    narrow = _stock_batching(tmp_path, event_window_seconds=0, messages_per_invocation=10).stock
    assert (narrow.event_window_seconds, narrow.messages_per_invocation) == (0, 10)

    def without(d: dict) -> None:  # type: ignore[type-arg]
        for key in ("event_window_seconds", "messages_per_invocation"):
            d["pipelines"]["stock"].pop(key, None)

    default = load_client_config(write(tmp_path, without)).stock
    assert (default.event_window_seconds, default.messages_per_invocation) == (0, 5)
