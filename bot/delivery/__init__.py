"""Delivery: the outbox and the worker that sends it to Telegram within its limits."""
