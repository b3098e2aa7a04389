"""The privacy domain's errors, each with its stable code."""

from medbook.kernel.errors import UnprocessableError


class PrivacyConsentRequiredError(UnprocessableError):
    code = "privacy_consent_required"
