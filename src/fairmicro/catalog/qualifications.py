"""Catalog verbs of the zero-shot qualifier: its results and the image-embedding cache.

``qualifications`` holds one row per image and assessment of a run;
``image_embeddings`` caches image embeddings per (image sha256, model id,
model revision, preprocessing), so scoring the same images again computes no
embedding. The model layer calls these functions; it never speaks SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fairmicro.catalog.bulk import JSON_TEXTS, json_texts

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog, QueryResult
    from fairmicro.schema import models

QUALIFICATIONS = "qualifications"
EMBEDDINGS = "image_embeddings"
QUALIFICATION_COLUMNS = (
    "image_sha256",
    "path",
    "assessment",
    "delta_clip",
    "delta_flava",
    "z_clip",
    "z_flava",
    "hybrid",
    "decision",
    "top_k",
)


def cached_embeddings(
    catalog: Catalog, model_id: str, revision: str, preprocessing: str, shas: Iterable[str]
) -> dict[str, list[float]]:
    """The cached embeddings of ``shas`` for one model and preprocessing recipe, by sha256."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    result = catalog.query(
        f"SELECT image_sha256, embedding FROM {EMBEDDINGS} WHERE model_id = ? AND model_revision = ? "
        f"AND preprocessing = ? AND image_sha256 IN {JSON_TEXTS}",
        [model_id, revision, preprocessing, json_texts(wanted)],
    )
    return {sha: json.loads(text) for sha, text in result.rows}


def cached_embedding_pairs(
    catalog: Catalog, model_id: str, revision: str, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[float]]:
    """The cached embeddings of one model for (image sha256, preprocessing recipe) pairs, by pair.

    Lets one run mix recipes (raw images and drawn masks) in one look-up; only exact pairs match.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    result = catalog.query(
        f"SELECT image_sha256, preprocessing, embedding FROM {EMBEDDINGS} WHERE model_id = ? AND model_revision = ? "
        f"AND image_sha256 IN {JSON_TEXTS} AND preprocessing IN {JSON_TEXTS}",
        [model_id, revision, json_texts(sorted({s for s, _ in wanted})), json_texts(sorted({p for _, p in wanted}))],
    )
    return {(sha, recipe): json.loads(text) for sha, recipe, text in result.rows if (sha, recipe) in wanted}


def store_embeddings(catalog: Catalog, records: Sequence[models.ImageEmbedding]) -> None:
    """Cache embeddings (an embedding already cached is kept)."""
    catalog.insert(EMBEDDINGS, list(records))


def add_qualifications(catalog: Catalog, rows: Sequence[models.Qualification]) -> None:
    """Insert a run's results (call inside the transaction that completes the run)."""
    catalog.insert(QUALIFICATIONS, list(rows), conflict="DO NOTHING")


def qualifications_of(catalog: Catalog, run_id: str) -> QueryResult:
    """A run's results in image path and assessment order."""
    return catalog.query(
        f"SELECT {', '.join(QUALIFICATION_COLUMNS)} FROM {QUALIFICATIONS} WHERE model_run_id = ? "
        "ORDER BY path, image_sha256, assessment",
        [run_id],
    )


def count_qualifications(catalog: Catalog, run_id: str | None = None) -> int:
    """Rows of ``qualifications`` (of one run, when given)."""
    sql = f"SELECT count(*) FROM {QUALIFICATIONS}" + (" WHERE model_run_id = ?" if run_id else "")
    return int(catalog.query(sql, [run_id] if run_id else []).rows[0][0])


def catalog_rows(catalog: Catalog, shas: Iterable[str], columns: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    """``image_metadata`` rows (the given columns) of those ``shas`` the catalog holds, by sha256."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    names = ", ".join(f'"{c}"' for c in columns)
    result = catalog.query(f"SELECT {names} FROM image_metadata WHERE sha256 IN {JSON_TEXTS}", [json_texts(wanted)])
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    return {row["sha256"]: row for row in rows}


def metadata_columns(catalog: Catalog) -> list[str]:
    """The columns of ``image_metadata`` (what ``--labels`` may name)."""
    return catalog.columns("image_metadata")


def column_values(catalog: Catalog, shas: Iterable[str], column: str) -> dict[str, Any]:
    """One ``image_metadata`` column's value per image, for those ``shas`` the catalog holds.

    ``column`` must be one of :func:`metadata_columns` (it is quoted as an identifier, never bound).
    """
    if column not in metadata_columns(catalog):
        raise KeyError(column)
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    quoted = '"' + column.replace('"', '""') + '"'
    result = catalog.query(
        f"SELECT sha256, {quoted} FROM image_metadata WHERE sha256 IN {JSON_TEXTS}", [json_texts(wanted)]
    )
    return dict(result.rows)
