"""Submitting a request file at most once: check, split, record the intent, create, feed the queue."""
