"""Tracked batches: resolve ID|JOB arguments, refresh them from the API into the store, list, cancel,
delete. Below submit and results, which use it."""
