"""What batchctl knows of the models: dated price tables (and limits)."""
