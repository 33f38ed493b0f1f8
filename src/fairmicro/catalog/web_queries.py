"""The catalog reads behind ``fairmicro serve``: browse pages, facets, one image's trail, datasets and runs.

Every statement is fixed text; the values a visitor chooses (facet values,
ranges, the keyset cursor, a sha256) are bound parameters. Facet columns are
picked from :data:`FACETS` by name, never taken from the request. Paging is a
keyset on ``(path, sha256)``, so page 1,000 costs what page 1 costs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairmicro.catalog.store import Catalog

FACETS: dict[str, str] = {
    "vendor": "ins.vendor",
    "instrument": "ins.instrument_model",
    "detector": "c.detector",
    "specimen": "i.specimen_id",
    "label": "i.label",
    "label_source": "i.label_source",
}
"""Facet name (the query-string key) -> column of :data:`_FROM` (the columns image_metadata shows)."""

RANGES: dict[str, str] = {"voltage": "c.accelerating_voltage_kv", "pixel_size": "c.pixel_size_x_nm"}
"""Range facet name -> numeric column (bounds ``<name>_min``/``<name>_max``)."""

# The three tables behind image_metadata that browsing needs (the full view also joins specimens and
# types every lab column, which costs a page of 100,000 images several times more).
_FROM = (
    "FROM images AS i LEFT JOIN instruments AS ins ON ins.instrument_id = i.instrument_id "
    "LEFT JOIN imaging_conditions AS c ON c.image_sha256 = i.sha256"
)
CARD_COLUMNS = (
    "sha256",
    "path",
    "width_px",
    "height_px",
    "vendor",
    "instrument_model",
    "detector",
    "accelerating_voltage_kv",
    "pixel_size_x_nm",
    "specimen_id",
    "label",
    "label_source",
)
_CARD_SELECT = (
    "SELECT i.sha256, i.path, i.width_px, i.height_px, ins.vendor, ins.instrument_model, c.detector, "
    "c.accelerating_voltage_kv, c.pixel_size_x_nm, i.specimen_id, i.label, i.label_source " + _FROM
)
_MEMBER = "i.sha256 IN (SELECT image_sha256 FROM dataset_images WHERE dataset_id = ?)"
_SPLIT = "i.sha256 IN (SELECT image_sha256 FROM dataset_images WHERE split = ?)"
_MEMBER_SPLIT = "i.sha256 IN (SELECT image_sha256 FROM dataset_images WHERE dataset_id = ? AND split = ?)"


@dataclass
class Filters:
    """The browse filters a visitor chose: facet values, numeric ranges, dataset and split."""

    values: dict[str, str] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    dataset: str | None = None
    split: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """A predicate over image_metadata and its bound parameters."""
        clauses: list[str] = ["TRUE"]
        params: list[Any] = []
        for name, value in self.values.items():
            clauses.append(f"{FACETS[name]} IS NOT DISTINCT FROM ?")
            params.append(None if value == "" else value)
        for name, (low, high) in self.ranges.items():
            for bound, op in ((low, ">="), (high, "<=")):
                if bound is not None:
                    clauses.append(f"{RANGES[name]} {op} ?")
                    params.append(bound)
        membership = self._membership()
        if membership:
            clauses.append(membership[0])
            params.extend(membership[1])
        return " AND ".join(clauses), params

    def _membership(self) -> tuple[str, list[Any]] | None:
        if self.dataset and self.split:
            return _MEMBER_SPLIT, [self.dataset, self.split]
        if self.dataset:
            return _MEMBER, [self.dataset]
        if self.split:
            return _SPLIT, [self.split]
        return None


def browse_page(catalog: Catalog, filters: Filters, after: tuple[str, str] | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` images matching ``filters``, ordered by (path, sha256), after the keyset ``after``."""
    where, params = filters.where()
    if after is not None:
        where += " AND (i.path > ? OR (i.path = ? AND i.sha256 > ?))"
        params += [after[0], after[0], after[1]]
    result = catalog.query(f"{_CARD_SELECT} WHERE {where} ORDER BY i.path, i.sha256 LIMIT ?", [*params, limit])
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def count_images(catalog: Catalog, filters: Filters) -> int:
    """How many images match ``filters``."""
    where, params = filters.where()
    return int(catalog.query(f"SELECT count(*) {_FROM} WHERE {where}", params).rows[0][0])


def facet_counts(catalog: Catalog, filters: Filters, top: int = 25) -> dict[str, list[tuple[Any, int]]]:
    """Facet name -> its ``top`` most frequent (value, count) among the images matching ``filters``."""
    where, params = filters.where()
    columns = list(FACETS.values())
    sets = ", ".join(f"({c})" for c in columns)
    grouping = ", ".join(f"GROUPING({c})" for c in columns)
    rows = catalog.query(
        f"SELECT {', '.join(columns)}, [{grouping}] AS g, count(*) AS n {_FROM} WHERE {where} "
        f"GROUP BY GROUPING SETS ({sets}) ORDER BY n DESC",
        params,
    ).rows
    counts: dict[str, list[tuple[Any, int]]] = {name: [] for name in FACETS}
    for row in rows:
        index = list(row[len(columns)]).index(0)
        name = list(FACETS)[index]
        if len(counts[name]) < top:
            counts[name].append((row[index], int(row[-1])))
    return counts


def range_bounds(catalog: Catalog, filters: Filters) -> dict[str, tuple[float | None, float | None]]:
    """Range facet name -> (min, max) among the images matching ``filters``."""
    where, params = filters.where()
    parts = ", ".join(f"min({c}), max({c})" for c in RANGES.values())
    row = catalog.query(f"SELECT {parts} {_FROM} WHERE {where}", params).rows[0]
    return {name: (row[2 * i], row[2 * i + 1]) for i, name in enumerate(RANGES)}


def membership_counts(catalog: Catalog, filters: Filters) -> list[tuple[str, str | None, str | None, int]]:
    """(dataset id, dataset name, split, images) of the datasets holding images that match ``filters``."""
    where, params = filters.where()
    return [
        tuple(r)
        for r in catalog.query(
            "SELECT di.dataset_id, any_value(d.name), di.split, count(DISTINCT di.image_sha256) AS n "
            "FROM dataset_images di LEFT JOIN datasets d USING (dataset_id) "
            f"WHERE di.image_sha256 IN (SELECT i.sha256 {_FROM} WHERE {where}) "
            "GROUP BY di.dataset_id, di.split ORDER BY 2, 3",
            params,
        ).rows
    ]


# ------------------------------------------------------------------ one image
def _dicts(catalog: Catalog, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    result = catalog.query(sql, params)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def image_row(catalog: Catalog, sha256: str) -> dict[str, Any] | None:
    """Every image_metadata column of one image, or None."""
    rows = _dicts(catalog, "SELECT * FROM image_metadata WHERE sha256 = ?", [sha256])
    return rows[0] if rows else None


def pixel_source(catalog: Catalog, sha256: str) -> dict[str, Any] | None:
    """What reading the image's pixels needs: sha256, path, file_format, page_index, data_bar_height_px."""
    rows = _dicts(
        catalog,
        "SELECT sha256, path, file_format, page_index, data_bar_height_px FROM images WHERE sha256 = ?",
        [sha256],
    )
    return rows[0] if rows else None


def field_trail(catalog: Catalog, sha256: str) -> dict[str, dict[str, Any]]:
    """Slot name -> its vendor key, raw value and conversion."""
    rows = _dicts(
        catalog,
        "SELECT slot_name, source_key, raw_value, conversion FROM field_sources "
        "WHERE image_sha256 = ? ORDER BY slot_name",
        [sha256],
    )
    return {row.pop("slot_name"): row for row in rows}


def vendor_block(catalog: Catalog, sha256: str) -> Any:
    """The raw vendor metadata block of one image (parsed JSON), or None."""
    rows = catalog.query("SELECT vendor_metadata FROM images WHERE sha256 = ?", [sha256]).rows
    return json.loads(rows[0][0]) if rows and rows[0][0] else None


def specimen_row(catalog: Catalog, specimen_id: str | None) -> dict[str, Any] | None:
    """The specimens row of ``specimen_id``, or None."""
    if specimen_id is None:
        return None
    rows = _dicts(catalog, "SELECT * FROM specimens WHERE specimen_id = ?", [specimen_id])
    return rows[0] if rows else None


def image_provenance(catalog: Catalog, sha256: str) -> dict[str, list[dict[str, Any]]]:
    """Datasets, publications, runs, predictions, qualifications and annotations of one image."""
    return {
        "datasets": _dicts(
            catalog,
            "SELECT d.dataset_id, d.name, d.fingerprint, di.split, di.tile_count, "
            "d.created_at FROM dataset_images di JOIN datasets d USING (dataset_id) "
            "WHERE di.image_sha256 = ? ORDER BY d.created_at",
            [sha256],
        ),
        "publications": _dicts(
            catalog,
            "SELECT p.* FROM publications p WHERE p.dataset_id IN (SELECT dataset_id "
            "FROM dataset_images WHERE image_sha256 = ?) ORDER BY published_at",
            [sha256],
        ),
        "runs": _dicts(
            catalog,
            "SELECT run_id, plugin, task, run_kind, status, started_at FROM model_runs "
            "WHERE run_id IN (SELECT model_run_id FROM predictions WHERE image_sha256 = ? "
            "UNION SELECT model_run_id FROM qualifications WHERE image_sha256 = ? "
            "UNION SELECT model_run_id FROM annotations WHERE image_sha256 = ?) "
            "ORDER BY started_at",
            [sha256] * 3,
        ),
        "predictions": _dicts(
            catalog,
            "SELECT model_run_id, tile_x_px, tile_y_px, split, true_label, "
            "predicted_label, confidence, probabilities FROM predictions "
            "WHERE image_sha256 = ? ORDER BY model_run_id LIMIT 200",
            [sha256],
        ),
        "qualifications": _dicts(
            catalog,
            "SELECT model_run_id, assessment, delta_clip, delta_flava, z_clip, "
            "z_flava, hybrid, decision FROM qualifications WHERE image_sha256 = ? "
            "ORDER BY model_run_id, assessment",
            [sha256],
        ),
        "annotations": _dicts(
            catalog,
            "SELECT annotation_id, annotation_kind, label, label_source, confidence, "
            "mask_source, model_run_id, created_at, created_by FROM annotations "
            "WHERE image_sha256 = ? ORDER BY created_at",
            [sha256],
        ),
    }


# ------------------------------------------------------------ datasets, runs
def datasets(catalog: Catalog) -> list[dict[str, Any]]:
    """Every dataset build, newest first, with its image count."""
    return _dicts(
        catalog,
        "SELECT d.dataset_id, d.name, d.fingerprint, d.output_path, d.created_at, "
        "(SELECT count(*) FROM dataset_images di WHERE di.dataset_id = d.dataset_id) AS images "
        "FROM datasets d ORDER BY d.created_at DESC",
        [],
    )


def dataset(catalog: Catalog, dataset_id: str) -> dict[str, Any] | None:
    """One datasets row (JSON columns parsed), or None."""
    rows = _dicts(catalog, "SELECT * FROM datasets WHERE dataset_id = ?", [dataset_id])
    return _parsed(rows[0], ("parameters", "counts")) if rows else None


def dataset_runs(catalog: Catalog, fingerprint: str | None, name: str | None) -> list[dict[str, Any]]:
    """Model runs that read a dataset (by fingerprint revision or by name)."""
    return _dicts(
        catalog,
        "SELECT run_id, plugin, task, run_kind, status, started_at FROM model_runs "
        "WHERE dataset_revision = ? OR dataset_ref = ? ORDER BY started_at",
        [fingerprint, name],
    )


def dataset_publications(catalog: Catalog, dataset_id: str) -> list[dict[str, Any]]:
    """Publications of one dataset build."""
    return _dicts(catalog, "SELECT * FROM publications WHERE dataset_id = ? ORDER BY published_at", [dataset_id])


def runs(catalog: Catalog) -> list[dict[str, Any]]:
    """Every model run, newest first."""
    return _dicts(
        catalog,
        "SELECT run_id, plugin, task, run_kind, status, dataset_ref, dataset_revision, "
        "started_at, ended_at FROM model_runs ORDER BY started_at DESC",
        [],
    )


def run(catalog: Catalog, run_id: str) -> dict[str, Any] | None:
    """One model_runs row (JSON columns parsed), or None."""
    rows = _dicts(catalog, "SELECT * FROM model_runs WHERE run_id = ?", [run_id])
    return _parsed(rows[0], ("parameters", "metrics", "artifacts", "library_versions")) if rows else None


def dataset_by_revision(catalog: Catalog, revision: str | None) -> str | None:
    """The dataset id whose fingerprint is ``revision`` (newest), or None."""
    rows = catalog.query(
        "SELECT dataset_id FROM datasets WHERE fingerprint = ? ORDER BY created_at DESC LIMIT 1", [revision]
    ).rows
    return rows[0][0] if rows else None


def confusion(catalog: Catalog, run_id: str) -> list[tuple[str, str, int]]:
    """(true label, predicted label, count) of a run's predictions that have a true label."""
    return [
        tuple(r)
        for r in catalog.query(
            "SELECT true_label, predicted_label, count(*) FROM predictions WHERE model_run_id = ? AND "
            "true_label IS NOT NULL GROUP BY ALL ORDER BY 1, 2",
            [run_id],
        ).rows
    ]


def run_qualifications(catalog: Catalog, run_id: str) -> list[dict[str, Any]]:
    """The qualifications rows of one run, top_k parsed."""
    rows = _dicts(catalog, "SELECT * FROM qualifications WHERE model_run_id = ? ORDER BY path, assessment", [run_id])
    return [_parsed(row, ("top_k",)) for row in rows]


def pick_images(catalog: Catalog, limit: int = 200) -> list[tuple[str, str]]:
    """(sha256, path) of up to ``limit`` images, for the qualification page's picker."""
    return [
        tuple(r)
        for r in catalog.query("SELECT sha256, path FROM images ORDER BY ingested_at DESC, path LIMIT ?", [limit]).rows
    ]


def _parsed(row: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    out = dict(row)
    for key in keys:
        value = out.get(key)
        if isinstance(value, str):
            try:
                out[key] = json.loads(value)
            except ValueError:
                pass
    return out


def review_probabilities(catalog: Catalog, run_ids: Sequence[str]) -> dict[tuple[str, str], dict[str, float]]:
    """(run id, image sha256) -> the class probabilities a run stored, for the review queue's runs."""
    rows = catalog.query(
        "SELECT model_run_id, image_sha256, any_value(probabilities) FROM predictions "
        "WHERE model_run_id IN (SELECT unnest(?::VARCHAR[])) AND probabilities IS NOT NULL "
        "GROUP BY ALL",
        [list(run_ids)],
    ).rows
    return {(run_id, sha): json.loads(probs) for run_id, sha, probs in rows}


QUERY_EXAMPLE = "SELECT vendor, detector, count(*) AS images\nFROM image_metadata\nGROUP BY ALL\nORDER BY images DESC"
"""The query page's starting SQL."""

DEFAULT_CALIBRATION = "sha256 IN (SELECT sha256 FROM image_metadata ORDER BY sha256 LIMIT 64)"
"""The qualification page's calibration predicate: a fixed, hash-ordered (so unbiased) 64 images."""


def image_predicate(sha256: str) -> str:
    """A predicate over image_metadata choosing one image by its full sha256 (checked to be 64 hex digits).

    Raises
    ------
    ValueError
        If ``sha256`` is not 64 lower-case hex digits (nothing else may be spliced into SQL).
    """
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return f"sha256 = '{sha256}'"
