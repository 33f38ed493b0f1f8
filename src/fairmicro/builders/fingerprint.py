"""Dataset versioning: a fingerprint of the inputs, and one catalog row per build.

The fingerprint hashes what decides the shard bytes: every selected image's
sha256 with its label and group, a digest of the metadata columns copied into
the dataset, the mask files used, and the tiling and split settings. The same
inputs give the same fingerprint and byte-identical shards.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb

from fairmicro.catalog.store import Catalog, utcnow
from fairmicro.errors import CatalogError
from fairmicro.schema import models

# Bumped whenever the shard layout or encoding changes.
FORMAT_VERSION = "1"


def canonical_json(value: Any) -> str:
    """Stable JSON text: sorted keys, no spaces, non-JSON values as text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class RowDigest:
    """Running sha256 over rows, in the order they are fed."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, row: Sequence[Any] | Mapping[str, Any]) -> None:
        """Fold one row in."""
        self._hash.update(canonical_json(row).encode("utf-8"))
        self._hash.update(b"\n")

    def hexdigest(self) -> str:
        """The digest so far."""
        return self._hash.hexdigest()


def fingerprint(
    images: Iterable[tuple[str, str, str]],
    settings: Mapping[str, Any],
    metadata_digest: str,
    mask_digests: Mapping[str, str] | None = None,
) -> str:
    """The dataset fingerprint (64 hex digits).

    Parameters
    ----------
    images
        ``(image sha256, label, group)`` of every selected image.
    settings
        Tiling, split and label settings (anything that changes the rows).
    metadata_digest
        Digest of the metadata rows copied into the dataset.
    mask_digests
        Image sha256 -> sha256 of its mask file, for mask-guided builds.
    """
    digest = hashlib.sha256()
    digest.update(canonical_json({"format": FORMAT_VERSION, "settings": settings}).encode("utf-8"))
    for sha, label, group in sorted(images):
        digest.update(f"\n{sha}\t{label}\t{group}".encode())
    digest.update(f"\nmetadata\t{metadata_digest}".encode())
    for sha, mask in sorted((mask_digests or {}).items()):
        digest.update(f"\nmask\t{sha}\t{mask}".encode())
    return digest.hexdigest()


def record_build(
    catalog: Catalog,
    *,
    name: str,
    fingerprint_hex: str,
    selection_sql: str,
    parameters: Mapping[str, Any],
    counts: Mapping[str, Any],
    output_path: str,
    version: str,
    membership: Iterable[tuple[str, str, int]],
) -> str:
    """Add one ``datasets`` row and its ``dataset_images`` rows in one transaction.

    Parameters
    ----------
    membership
        ``(image sha256, split, tile count)`` of every image in the build.

    Returns
    -------
    str
        The new dataset id.
    """
    dataset = models.Dataset(
        dataset_id=uuid.uuid4().hex,
        name=name,
        fingerprint=fingerprint_hex,
        selection_sql=selection_sql,
        parameters=canonical_json(parameters),
        counts=canonical_json(counts),
        output_path=output_path,
        fairmicro_version=version,
        created_at=utcnow(),
    )
    images = [
        models.DatasetImage(dataset_id=dataset.dataset_id, image_sha256=sha, split=split, tile_count=count)
        for sha, split, count in membership
    ]
    try:
        with catalog.transaction():
            catalog.insert("datasets", [dataset])
            catalog.insert("dataset_images", images)
    except duckdb.Error as exc:
        raise CatalogError(f"{catalog.path}: could not record build {name!r} ({exc})") from exc
    return dataset.dataset_id
