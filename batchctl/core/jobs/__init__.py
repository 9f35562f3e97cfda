"""A job's life: submit (never twice), status, wait, list, cancel, retry, collect."""
