"""Workflows that combine submit, tracking and results: run, wait, status, collect, retry-failed."""
