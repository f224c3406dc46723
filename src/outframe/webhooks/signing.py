"""The two signature schemes a delivery carries.

apiframe's: `X-Webhook-Signature` = hex HMAC-SHA256 of the raw body, keyed with the hex SHA-256
of the API key that created the job (which is what we store for the key). Standard Webhooks':
`webhook-id`, `webhook-timestamp`, `webhook-signature`, signed with the raw SHA-256 digest.
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
    apiframe = hmac.new(key_hash.encode(), body.encode(), hashlib.sha256).hexdigest()
    standard = Webhook(bytes.fromhex(key_hash)).sign(webhook_id, now, body)
    return {
        "Content-Type": "application/json",
        "User-Agent": "outframe-webhooks/1",
        "X-Webhook-Event": event,
        "X-Webhook-Signature": apiframe,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": standard,
    }
