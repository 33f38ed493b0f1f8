"""Recorded dataset builds, their publications and mask annotations: the catalog verbs builders use.

Mixed into :class:`fairmicro.catalog.store.Catalog` (:class:`BuildsMixin`), so
``builders/`` looks builds up by name and never speaks SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairmicro.catalog.store import QueryResult


class BuildsMixin:
    """Catalog verbs for ``datasets``, ``publications`` and mask ``annotations``."""

    def query(self, sql: str, params: Sequence[Any] | None = None) -> QueryResult: ...  # type: ignore[empty-body]

    def written_builds(self) -> list[tuple[str, str, str | None, str]]:
        """(dataset id, name, fingerprint, output path) of every build written to a folder, newest first."""
        return [
            tuple(r)
            for r in self.query(
                "SELECT dataset_id, name, fingerprint, output_path FROM datasets "
                "WHERE output_path IS NOT NULL ORDER BY created_at DESC NULLS LAST"
            ).rows
        ]

    def newest_build(self, name: str) -> tuple[str, str | None, str | None] | None:
        """(dataset id, fingerprint, output path) of the newest build called ``name``; None if there is none."""
        rows = self.query(
            "SELECT dataset_id, fingerprint, output_path FROM datasets WHERE name = ? "
            "ORDER BY created_at DESC NULLS LAST LIMIT 1",
            [name],
        ).rows
        return tuple(rows[0]) if rows else None

    def newest_publication(self, dataset_id: str) -> tuple[str, str, str] | None:
        """(repo id, revision sha, endpoint) of a build's newest publication; None if never published."""
        rows = self.query(
            "SELECT repo_id, revision_sha, endpoint FROM publications WHERE dataset_id = ? "
            "ORDER BY published_at DESC NULLS LAST LIMIT 1",
            [dataset_id],
        ).rows
        return tuple(rows[0]) if rows else None

    def newest_mask_paths(self) -> dict[str, str]:
        """The newest manual label-map mask's file per image sha256 (for mask-guided tiling).

        Predicted masks are a model's opinion, not ground truth, and colour-map masks
        hold RGB values rather than class values, so neither guides tiles.
        """
        rows = self.query(
            "SELECT image_sha256, mask_path FROM annotations WHERE annotation_kind = ? AND mask_path IS NOT NULL "
            "AND coalesce(mask_source, 'manual') = 'manual' AND coalesce(mask_encoding, 'label_map') = 'label_map' "
            "ORDER BY image_sha256, created_at DESC NULLS LAST, annotation_id",
            ["mask"],
        ).rows
        masks: dict[str, str] = {}
        for sha, path in rows:
            masks.setdefault(sha, path)
        return masks
