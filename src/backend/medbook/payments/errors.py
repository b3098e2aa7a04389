"""The payments domain's errors, each with its stable code."""

from medbook.kernel.errors import ConflictError, DomainError, NotFoundError, UnprocessableError


class PaymentNotFoundError(NotFoundError):
    code = "payment_not_found"


class PaymentDeclinedProblem(DomainError):
    """The card was refused. The decline is recorded (keep_changes), and the hold stays."""

    status = 402
    code = "payment_declined"
    keep_changes = True


class PaymentMethodRefusedProblem(UnprocessableError):
    """The gateway will not charge this card token at all (not a decline of the card)."""

    code = "payment_method_refused"


class GatewayUnavailableError(DomainError):
    """The gateway could not be reached or did not answer in time: try again shortly."""

    status = 503
    code = "gateway_unavailable"
    headers = {"Retry-After": "5"}


class NoOnlinePaymentError(UnprocessableError):
    code = "no_online_payment"


class AlreadyPaidError(ConflictError):
    code = "already_paid"


class NotRefundableError(ConflictError):
    code = "not_refundable"


class RefundTooLargeError(UnprocessableError):
    code = "refund_too_large"


class PaymentMismatchError(ConflictError):
    """The gateway's payment is not for the amount we asked: never confirm on it."""

    code = "payment_mismatch"
