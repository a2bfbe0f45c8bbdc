"""CDK entry point: `cdk synth|deploy -c client=NAME` builds the stack for infra/clients/NAME.yaml.

Offline by design: the account and region come from the client file (no STS lookup), and the Lambda
assets are bundled locally (no Docker).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.stack import HoplineClientStack
from shared.config import CLIENTS_DIR, ClientConfig, config_for_client
from shared.errors import ConfigError

CDK_JSON = Path(__file__).resolve().parent / "cdk.json"
CLIENTS_DIR_ENV = "HOPLINE_CLIENTS_DIR"
USAGE = "usage: cdk synth -c client=NAME  (NAME is a file infra/clients/NAME.yaml)"


def project_context() -> dict[str, Any]:
    """The `context` block of cdk.json (feature flags), so a plain `python app.py` matches `cdk synth`."""
    if not CDK_JSON.is_file():
        return {}
    return dict(json.loads(CDK_JSON.read_text()).get("context", {}))


def load_config(client: str) -> ClientConfig:
    clients_dir = Path(os.environ[CLIENTS_DIR_ENV]) if os.environ.get(CLIENTS_DIR_ENV) else CLIENTS_DIR
    return config_for_client(client, clients_dir)


def add_client_stack(app: cdk.App, config: ClientConfig) -> HoplineClientStack:
    stack = HoplineClientStack(
        app,
        f"hopline-{config.client}",
        config=config,
        env=cdk.Environment(account=config.account, region=config.region),
    )
    cdk.Tags.of(app).add("app", "hopline")
    cdk.Tags.of(app).add("client", config.client)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return stack


def build_app(client: str, *, context: dict[str, Any] | None = None, outdir: str | None = None) -> cdk.App:
    """The app for one client; `context` overrides everything else (tests skip bundling with it)."""
    app = cdk.App(
        outdir=outdir or os.environ.get("CDK_OUTDIR", "cdk.out"),
        context=project_context(),
        post_cli_context={"client": client, **(context or {})},
    )
    add_client_stack(app, load_config(client))
    return app


def main() -> int:
    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"), context=project_context())
    client = app.node.try_get_context("client")
    if not client:
        print(f"missing context 'client'; {USAGE}", file=sys.stderr)
        return 2
    try:
        config = load_config(str(client))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    add_client_stack(app, config)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
