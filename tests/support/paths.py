"""Where things are in the clone."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "batchctl"
SAMPLES = ROOT / "samples"
QUESTIONS = SAMPLES / "questions.jsonl"
