"""The two signature schemes a delivery carries.

apiframe's: `X-Webhook-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the
raw 32-byte SHA-256 digest of the API key that created the job, as the official SDK's
`verifyWebhook` checks it (we store the key's digest, in hex). Standard Webhooks': `webhook-id`,
`webhook-timestamp`, `webhook-signature`, signed with the same raw digest.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from standardwebhooks.webhooks import Webhook


def signed_headers(
    *, key_hash: str, webhook_id: str, event: str, body: str, now: datetime
) -> dict[str, str]:
    """Every header of a delivery, for a body sent exactly as given."""
    secret = bytes.fromhex(key_hash)
    apiframe = "sha256=" + hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    standard = Webhook(secret).sign(webhook_id, now, body)
    return {
        "Content-Type": "application/json",
        "User-Agent": "outframe-webhooks/1",
        "X-Webhook-Event": event,
        "X-Webhook-Signature": apiframe,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": standard,
    }
