"""The local state store and its migrations."""
