"""Cancellation task: writes the outcome back to the order's source (a note on the Cin7 Core sale)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.models.messages import CancelState
from shared.redaction import hop_logger
from shared.runtime import runtime
from shared.steps.cancellation import notify

logger = hop_logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = notify(CancelState.model_validate(event), runtime())
    return result
