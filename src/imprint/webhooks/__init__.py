"""Webhook deliveries: the job object as payload, the signed and vetted POST, and the loop that sends
the outbox (`imprint.service.job_events` writes it) with retries."""
