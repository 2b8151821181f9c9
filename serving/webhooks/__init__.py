"""Webhooks: inbound ESP event webhooks verified by signature, and outbound event
webhooks to customers (signed, retried with exponential backoff, with a delivery log)."""
