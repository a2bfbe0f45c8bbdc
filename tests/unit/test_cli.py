"""The `hopline` command line: every flag explained, bad input named, AWS failures one clear line."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cli.commands import run_ops_command
from cli.main import OPERATOR_COMMANDS, build_parser, main

CLIENT = "example-cin7-scend"
# One invocation per operator command that calls AWS (each builds its clients and names the same way).
AWS_COMMANDS = [
    ["where", "SO-10003"],
    ["exceptions", "--team", "operations"],
    ["replay", "example-cin7-scend#order_intake#k#postcode_invalid", "--dry-run"],
    ["redrive", "order-submit", "--dry-run"],
]


def walk(parser: argparse.ArgumentParser, path: str = "hopline") -> Iterator[tuple[str, argparse.Action]]:
    """Every action of every parser under `parser`, with the command path it belongs to."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield f"{path} {choice.dest}", choice
            for name, sub in action.choices.items():
                yield from walk(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def one_stderr_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert captured.out == ""
    return lines[0]


def test_every_flag_and_argument_of_every_command_has_help() -> None:
    # Given the whole command tree / When every action is walked
    actions = list(walk(build_parser()))
    # Then every command was reached and each action explains itself
    commands = {path.split(" ")[1] for path, _ in actions if " " in path}
    assert set(OPERATOR_COMMANDS) | {"sandbox"} <= commands
    missing = [f"{path}: {action.option_strings or action.dest}" for path, action in actions if not action.help]
    assert missing == []


@pytest.mark.parametrize(
    ("argv", "flag", "expected"),
    [
        (["sandbox", "run", "--orders", "five"], "--orders", "positive integer"),
        (["sandbox", "run", "--orders", "0"], "--orders", "positive integer"),
        (["sandbox", "run", "--fault-rate", "lots"], "--fault-rate", "between 0 and 1"),
        (["sandbox", "run", "--duplicate-rate", "1.5"], "--duplicate-rate", "between 0 and 1"),
        (["sandbox", "run", "--seed", "x"], "--seed", "an integer"),
        (["sandbox", "run", "--day-hours", "0"], "--day-hours", "above 0"),
        (["redrive", "order-intake", "--rate", "fast"], "--rate", "above 0"),
        (["redrive", "order-intake", "--limit", "-3"], "--limit", "positive integer"),
    ],
)
def test_a_bad_value_names_the_flag_and_what_it_expects(
    argv: list[str], flag: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When a flag gets a value it cannot take
    with pytest.raises(SystemExit) as exited:
        main(argv)
    # Then argparse's usage error (exit 2) names the flag and the kind of value, not a function name
    assert exited.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert f"argument {flag}: expected" in error
    assert expected in error
    assert "invalid" not in error and "_positive" not in error


@pytest.fixture
def day_not_run(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records whether a sandbox day started (it must not when `--ops` is wrong)."""
    import sandbox.scenario

    started: list[Any] = []
    monkeypatch.setattr(sandbox.scenario, "run_day", lambda *a, **k: started.append(a))
    return started


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("exceptions --team nobody", "argument --team: invalid choice: 'nobody'"),
        ("frobnicate", "expected one of where, exceptions"),
        ("sandbox run", "expected one of where, exceptions"),
        ("replay", "the following arguments are required: exception_id"),
        ("where 'SO-1", "No closing quotation"),
        ("redrive order-intake --limit five", "argument --limit: expected a positive integer"),
    ],
)
def test_a_bad_ops_line_is_refused_before_the_day_starts(
    line: str, said: str, day_not_run: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # When a sandbox run is asked to end with an operator command that does not parse
    code = main(["sandbox", "run", "--orders", "5", "--ops", "exceptions", "--ops", line])
    # Then the run stops at once with exit 2 and one line naming the --ops line and its problem
    assert code == 2
    assert day_not_run == []
    error = one_stderr_line(capsys)
    assert error.startswith(f"hopline sandbox run: --ops {line!r}: ")
    assert said in error


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment where botocore finds no credentials anywhere (and asks no metadata service)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize("argv", AWS_COMMANDS, ids=[argv[0] for argv in AWS_COMMANDS])
def test_without_credentials_each_command_says_so_in_one_line(
    argv: list[str], no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # When an operator command runs where no AWS credentials are configured
    code = main([*argv, "--client", CLIENT])
    # Then it exits non-zero with one line: what is missing, where it looked, what to do
    assert code == 1
    error = one_stderr_line(capsys)
    assert error.startswith(f"hopline {argv[0]}: no usable AWS credentials")
    assert f"region eu-west-2, stack hopline-{CLIENT}" in error
    assert "--profile" in error


def test_an_unknown_profile_is_named(no_credentials: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["exceptions", "--client", CLIENT, "--profile", "nosuch"])
    assert code == 1
    assert "AWS profile 'nosuch' is not configured" in one_stderr_line(capsys)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("argv", AWS_COMMANDS[::3], ids=[argv[0] for argv in AWS_COMMANDS[::3]])
def test_a_missing_stack_is_named_with_the_region_and_what_to_do(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given credentials but no stack for the client / When a command runs
    code = main([*argv, "--client", CLIENT])
    # Then one line names the stack, the region and the way out
    assert code == 1
    error = one_stderr_line(capsys)
    assert error.startswith(f"hopline {argv[0]}: stack hopline-{CLIENT} not found")
    assert "region eu-west-2" in error
    assert "deploy it" in error


def test_an_unreachable_endpoint_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an endpoint nothing listens on (a port just released), tried once
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    # When a command runs against it
    code = main(["exceptions", "--client", CLIENT, "--endpoint-url", f"http://127.0.0.1:{port}"])
    # Then it says it cannot reach AWS there
    assert code == 1
    error = one_stderr_line(capsys)
    assert error.startswith("hopline exceptions: cannot reach AWS")
    assert f"endpoint http://127.0.0.1:{port}" in error


class _Refusing:
    """Ops whose every AWS call is refused with `code`."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": self.code, "Message": "refused\nby AWS"}}, "Query")

        return refuse


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("ExpiredToken", "AWS refused the credentials (ExpiredToken on Query"),
        ("AccessDeniedException", "access denied to Query"),
        ("ResourceNotFoundException", "AWS Query failed: ResourceNotFoundException refused by AWS"),
    ],
)
def test_a_refused_aws_call_mid_command_is_one_line(code: str, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a command whose AWS call is refused after the stack was found
    args = build_parser().parse_args(["exceptions", "--client", CLIENT])
    # When it runs / Then the refusal is one line with where it happened
    assert run_ops_command(args, _Refusing(code)) == 1  # type: ignore[arg-type]
    error = one_stderr_line(capsys)
    assert said in error
    assert f"stack hopline-{CLIENT}" in error
