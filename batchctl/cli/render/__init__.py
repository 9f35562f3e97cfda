"""How things look: tables, progress, summaries, JSON lines, GitHub annotations and step summaries."""
