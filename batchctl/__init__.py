"""batchctl: drive Anthropic's Message Batches API from the shell."""

__version__ = "0.1.0.dev0"
