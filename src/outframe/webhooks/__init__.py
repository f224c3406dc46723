"""Webhooks: signed, retried, SSRF-safe deliveries from a durable outbox."""
