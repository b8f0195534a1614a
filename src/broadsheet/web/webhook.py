"""SendGrid's signed Event Webhook: the public key that verifies it, and the check of each post's signature."""

from __future__ import annotations

import binascii
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook  # type: ignore[import-untyped]

from ..errors import BroadsheetError
from ..settings import Project

WEBHOOK_PUBLIC_KEY_VARIABLE = "SENDGRID_WEBHOOK_PUBLIC_KEY"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_WEBHOOK_BODY = 1_000_000
"""Bytes; SendGrid batches events into posts far smaller than this."""


class InvalidWebhookKey(BroadsheetError):
    """The configured SendGrid webhook public key is not one."""


def webhook_public_key(project: Project, environ: Mapping[str, str]) -> str | None:
    """`SENDGRID_WEBHOOK_PUBLIC_KEY` when set, else the `sendgrid_webhook_public_key` setting; None when neither is."""
    return environ.get(WEBHOOK_PUBLIC_KEY_VARIABLE) or project.settings.sendgrid_webhook_public_key or None


def _verifier(public_key: str | None) -> ec.EllipticCurvePublicKey | None:
    if not public_key:
        return None
    try:
        key = EventWebhook().convert_public_key_to_ecdsa(public_key.strip())
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidWebhookKey(
            f"{WEBHOOK_PUBLIC_KEY_VARIABLE} / sendgrid_webhook_public_key: Expected the base64 verification key "
            "of SendGrid's signed Event Webhook (an elliptic-curve public key)"
        )
    return key


def _signed(key: ec.EllipticCurvePublicKey | None, body: bytes, signature: str | None, timestamp: str | None) -> bool:
    if key is None or not signature or not timestamp:
        return False
    try:
        payload = body.decode("utf-8")
        return bool(EventWebhook().verify_signature(payload, signature, timestamp, public_key=key))
    except (UnicodeDecodeError, binascii.Error, ValueError):
        return False
