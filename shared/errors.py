"""Error taxonomy every connector raises and every handler understands.

Transient errors are raised out of a record handler so SQS retries them (and, after the queue's
maxReceiveCount, parks them in the DLQ). Permanent errors become a quarantine record and are not retried.
"""

from __future__ import annotations

from shared.models.reasons import ReasonCode


class HoplineError(Exception):
    """Base for errors we raise on purpose."""


class TransientError(HoplineError):
    """Worth retrying: timeouts, 5xx, connection drops, throttling."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None, processed: bool = True
    ):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status
        # False when the target provably did not act on the request (refused by a throttle, or never
        # connected): only then may a non-idempotent write be re-sent at once.
        self.processed = processed


class RateLimitedError(TransientError):
    """The target said slow down (429, or Cin7 Core's 503): it did not act on the request."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None):
        super().__init__(message, retry_after=retry_after, status=status, processed=False)


class AuthError(HoplineError):
    """Credentials refused: every record would fail the same way, so do not quarantine one by one."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status  # 401 is a token the client may renew; 403 a scope it lacks


class PermanentError(HoplineError):
    """The target refused this request for a reason retrying will not change."""

    def __init__(self, reason: ReasonCode, detail: str, *, status: int | None = None):
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.status = status


class NotFoundError(PermanentError):
    """The record does not exist at the source (deleted, wrong id)."""

    def __init__(self, detail: str, *, status: int | None = 404):
        super().__init__(ReasonCode.SOURCE_NOT_FOUND, detail, status=status)


class EndpointUnavailableError(PermanentError):
    """An endpoint the platform's card does not list, named in config, answered 404 or 405: the platform does not
    offer it. One clear exception for operations (fix the config), never a retry loop."""

    def __init__(self, *, target: str, method: str, path: str, config_field: str, status: int | None):
        super().__init__(
            ReasonCode.ENDPOINT_UNAVAILABLE,
            f"the {target} does not offer this endpoint: {method} {path} answered HTTP {status}; check "
            f"`{config_field}` (set it to the endpoint the {target} names, or remove it)",
            status=status,
        )
        self.config_field = config_field


class SubmitInFlightError(HoplineError):
    """A cancel met a submit that has started and not yet recorded its outcome: wait, then look again.

    The class name is the error a Step Functions Retry matches on; do not rename it lightly.
    """


class SubmitCancelledError(HoplineError):
    """A submit found the order's cancel already requested: it must not reach the warehouse."""


class SubmitClaimHeldError(TransientError):
    """Another submit holds this order's claim: back off (SQS redelivers later); its lease bounds the wait."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message, retry_after=retry_after, processed=False)


class SubmitClaimLostError(TransientError):
    """A submit's claim passed to another holder before its result was recorded: that holder owns the outcome,
    and the redelivery finds it recorded (or claims the order again and looks it up at the warehouse first)."""


class ConfigError(HoplineError):
    """A client config file is wrong; the message names the file, the field and the problem."""


class StepAsideError(HoplineError):
    """A background caller gave way before a platform call: the target is shedding load (order work goes first),
    or the wait for the call would outlast the invocation. Nothing failed: the work not done yet is left for
    later (a queue hop re-sends it with a delay, a scheduled hop keeps its cursor) and nothing is retried into
    a DLQ. `resume_after` is how long the wait would have been, in seconds."""

    def __init__(self, message: str, *, resume_after: float, shedding: bool = False):
        super().__init__(message)
        self.resume_after = resume_after
        # True: the target is shedding load (the hop's other records may still hold order work to do);
        # False: the invocation is out of time (nothing more should start).
        self.shedding = shedding
        # What the interrupted port call had done before it gave way (a batch write's rows applied), so the
        # step records them and the redelivery does not write them again.
        self.applied: tuple[object, ...] = ()
