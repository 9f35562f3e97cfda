"""Downloading results and writing them out: JSONL, CSV, order, summaries, atomic files."""
