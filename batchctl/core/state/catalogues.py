"""The Models API's catalogue cached per base URL (table ``model_catalogues``): the models as
the API layer checked them, and when they were fetched. ``batchctl.core.models`` decides when
to use it and when to fetch again."""

from __future__ import annotations

import json
from typing import Any

from batchctl.core.state.records import Records


class CatalogueRecords(Records):
    def cached_catalogue(self, base_url: str) -> tuple[float, list[dict[str, Any]]] | None:
        """``(fetched_at, models)`` cached for ``base_url``, or None (none, or unreadable)."""
        row = self._one("SELECT fetched_at, models FROM model_catalogues WHERE base_url = ?",
                        (base_url,))
        if row is None:
            return None
        try:
            models = json.loads(row["models"])
        except ValueError:
            return None
        if not isinstance(models, list) or not all(isinstance(m, dict) for m in models):
            return None
        return float(row["fetched_at"]), models

    def save_catalogue(self, base_url: str, fetched_at: float, models: list[dict[str, Any]]) -> None:
        """Replace the catalogue cached for ``base_url``."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO model_catalogues (base_url, fetched_at, models) VALUES (?, ?, ?) "
                "ON CONFLICT (base_url) DO UPDATE SET fetched_at = excluded.fetched_at, "
                "models = excluded.models",
                (base_url, fetched_at, json.dumps(models, separators=(",", ":"))),
            )
