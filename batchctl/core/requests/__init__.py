"""Reading, checking, splitting and preparing request files."""
