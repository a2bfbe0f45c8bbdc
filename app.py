"""CDK entry point: `cdk synth|deploy -c client=NAME[,NAME...]` builds the stack for infra/clients/NAME.yaml.

Beside the client stacks it builds `hopline-account`, once per account and region they deploy to (the API
Gateway CloudWatch role every client's webhook API logs through); `-c reuse_account_role=true` leaves it out
where it is already deployed from elsewhere. Offline by design: the account and region come from the client
file (no STS lookup), and the Lambda assets are bundled locally (no Docker).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.account_stack import ACCOUNT_STACK_NAME, HoplineAccountStack
from infra.stack import HoplineClientStack
from shared.config import CLIENTS_DIR, ClientConfig, config_for_client
from shared.errors import ConfigError

CDK_JSON = Path(__file__).resolve().parent / "cdk.json"
CLIENTS_DIR_ENV = "HOPLINE_CLIENTS_DIR"
USAGE = "usage: cdk synth -c client=NAME[,NAME...]  (NAME is a file infra/clients/NAME.yaml)"
REUSE_ACCOUNT_ROLE = "reuse_account_role"


def project_context() -> dict[str, Any]:
    """The `context` block of cdk.json (feature flags), so a plain `python app.py` matches `cdk synth`."""
    if not CDK_JSON.is_file():
        return {}
    return dict(json.loads(CDK_JSON.read_text()).get("context", {}))


def load_config(client: str) -> ClientConfig:
    clients_dir = Path(os.environ[CLIENTS_DIR_ENV]) if os.environ.get(CLIENTS_DIR_ENV) else CLIENTS_DIR
    return config_for_client(client, clients_dir)


def add_client_stack(
    app: cdk.App, config: ClientConfig, *, account_stack: cdk.Stack | None = None
) -> HoplineClientStack:
    stack = HoplineClientStack(
        app,
        f"hopline-{config.client}",
        config=config,
        env=cdk.Environment(account=config.account, region=config.region),
    )
    if account_stack is not None:  # `cdk deploy --all` deploys the account's logging role first
        stack.add_stack_dependency(account_stack)
    cdk.Tags.of(stack).add("app", "hopline")
    cdk.Tags.of(stack).add("client", config.client)
    return stack


def add_stacks(app: cdk.App, configs: Sequence[ClientConfig]) -> list[HoplineClientStack]:
    """The client stacks and, unless reused, one account stack per account and region they deploy to."""
    reuse = str(app.node.try_get_context(REUSE_ACCOUNT_ROLE) or "").lower() in ("true", "1", "yes")
    places = list(dict.fromkeys((config.account, config.region) for config in configs))
    account_stacks: dict[tuple[str, str], cdk.Stack] = {}
    if not reuse:
        for account, region in places:
            construct_id = ACCOUNT_STACK_NAME if len(places) == 1 else f"{ACCOUNT_STACK_NAME}-{account}-{region}"
            account_stacks[(account, region)] = HoplineAccountStack(
                app, construct_id, env=cdk.Environment(account=account, region=region)
            )
    stacks = [
        add_client_stack(app, config, account_stack=account_stacks.get((config.account, config.region)))
        for config in configs
    ]
    cdk.Tags.of(app).add("app", "hopline")
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return stacks


def client_names(value: object) -> list[str]:
    return [name.strip() for name in str(value).split(",") if name.strip()]


def build_app(
    client: str | Sequence[str], *, context: dict[str, Any] | None = None, outdir: str | None = None
) -> cdk.App:
    """The app for one or more clients; `context` overrides everything else (tests skip bundling with it)."""
    names = client_names(client) if isinstance(client, str) else list(client)
    app = cdk.App(
        outdir=outdir or os.environ.get("CDK_OUTDIR", "cdk.out"),
        context=project_context(),
        post_cli_context={"client": ",".join(names), **(context or {})},
    )
    add_stacks(app, [load_config(name) for name in names])
    return app


def main() -> int:
    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"), context=project_context())
    client = app.node.try_get_context("client")
    if not client:
        print(f"missing context 'client'; {USAGE}", file=sys.stderr)
        return 2
    try:
        configs = [load_config(name) for name in client_names(client)]
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    add_stacks(app, configs)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
