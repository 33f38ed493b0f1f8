"""Metadata preprocessing, fitted on the training split only.

Numeric columns are standardised; categorical columns are one-hot encoded
(categories seen in training; an unseen value encodes as all zeros); a
missing value is imputed (training mean, or no category) and flagged in an
indicator column. ``columns="auto"`` keeps the candidate columns that vary in
the training split: the schema's imaging, instrument and specimen columns and
the lab's own specimen-table columns (every dataset column that is neither a
schema nor a builder column). A text column with a value of its own for each
of four or more specimens is left out: it names specimens rather than
describing them, and grouped splits never show its test values in training. The chosen columns are
part of the saved state and are recorded in the run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fairmicro.builders.columns import reserved_names
from fairmicro.errors import ModelError
from fairmicro.models.data import GROUP, IDENTITIES, metadata_candidates, metadata_table


@dataclass
class _Numeric:
    name: str
    mean: float
    scale: float
    has_missing: bool


@dataclass
class _Categorical:
    name: str
    categories: list[str]
    has_missing: bool


MIN_NAMING_VALUES = 4


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _varies(values: list[Any]) -> bool:
    return len({repr(v) for v in values}) > 1


def auto_candidates(data: Any) -> list[str]:
    """Schema metadata columns and lab columns of a split, in dataset order."""
    schema = set(metadata_candidates(data))
    builder = reserved_names() | IDENTITIES
    return [c for c in data.column_names if c in schema or (c not in builder and _is_scalar(data, c))]


def _is_scalar(data: Any, column: str) -> bool:
    """A plain number or text column (not an image, list or dict)."""
    feature = data.features.get(column)
    return type(feature).__name__ == "Value" and not str(feature.dtype).startswith(("timestamp", "date", "binary"))


def _names_groups(values: list[Any], groups: list[Any]) -> bool:
    """Whether a text column has a value of its own for every group (at least
    :data:`MIN_NAMING_VALUES` of them): a specimen name or note, not a shared property."""
    if all(_is_number(v) or _missing(v) for v in values):
        return False
    owners: dict[str, set[str]] = {}
    for value, group in zip(values, groups, strict=True):
        if not _missing(value):
            owners.setdefault(str(value), set()).add(str(group))
    return len(owners) >= MIN_NAMING_VALUES and all(len(g) == 1 for g in owners.values())


def _auto_columns(data: Any) -> tuple[list[str], dict[str, list[Any]]]:
    candidates = auto_candidates(data)
    table = metadata_table(data, candidates)
    groups = metadata_table(data, [GROUP])[GROUP] if GROUP in data.column_names else None
    if groups is None or all(_missing(g) for g in groups):
        groups = list(range(len(data)))  # no specimens: a value of its own per row names the row
    chosen = [c for c in candidates if _varies(table[c]) and not _names_groups(table[c], groups)]
    return chosen, table


@dataclass
class MetadataPreprocessor:
    """Turns metadata columns into a float matrix; ``fit`` sees the training split only."""

    columns: str | list[str] = "auto"
    numeric_: list[_Numeric] = field(default_factory=list)
    categorical_: list[_Categorical] = field(default_factory=list)

    @property
    def chosen_columns(self) -> list[str]:
        """Columns in use after fitting."""
        return [c.name for c in self.numeric_] + [c.name for c in self.categorical_]

    def fit(self, data: Any) -> MetadataPreprocessor:
        """Choose columns and learn scaling/categories from the training split."""
        if self.columns == "auto":
            chosen, table = _auto_columns(data)
        else:
            chosen = list(self.columns)
            unknown = [c for c in chosen if c not in data.column_names]
            if unknown:
                have = ", ".join(auto_candidates(data))
                raise ModelError(f"metadata column(s) {', '.join(unknown)} not in the dataset; have {have}")
            table = metadata_table(data, chosen)
        self.numeric_, self.categorical_ = [], []
        for name in chosen:
            values = table[name]
            present = [v for v in values if not _missing(v)]
            has_missing = len(present) < len(values)
            if present and all(_is_number(v) for v in present):
                array = np.asarray(present, dtype=np.float64)
                scale = float(array.std()) or 1.0
                self.numeric_.append(_Numeric(name, float(array.mean()), scale, has_missing))
            else:
                categories = sorted({str(v) for v in present})
                self.categorical_.append(_Categorical(name, categories, has_missing))
        return self

    def feature_names(self) -> list[str]:
        """Names of the output columns."""
        names = []
        for column in self.numeric_:
            names.append(column.name)
            if column.has_missing:
                names.append(f"{column.name}__missing")
        for categorical in self.categorical_:
            names += [f"{categorical.name}={c}" for c in categorical.categories]
            if categorical.has_missing:
                names.append(f"{categorical.name}__missing")
        return names

    def transform(self, data: Any) -> np.ndarray:
        """The float matrix for a split (any split, after ``fit``)."""
        table = metadata_table(data, self.chosen_columns)
        blocks = [np.zeros((len(data), 0))]
        for column in self.numeric_:
            values = table[column.name]
            missing = np.array([_missing(v) for v in values])
            filled = np.array([column.mean if m else float(v) for v, m in zip(values, missing, strict=True)])
            blocks.append(((filled - column.mean) / column.scale)[:, None])
            if column.has_missing:
                blocks.append(missing[:, None].astype(np.float64))
        for categorical in self.categorical_:
            values = table[categorical.name]
            index = {c: i for i, c in enumerate(categorical.categories)}
            onehot = np.zeros((len(values), len(categorical.categories)))
            for row, value in enumerate(values):
                if not _missing(value) and str(value) in index:
                    onehot[row, index[str(value)]] = 1.0
            blocks.append(onehot)
            if categorical.has_missing:
                blocks.append(np.array([[float(_missing(v))] for v in values]))
        return np.hstack(blocks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {
            "columns": self.columns,
            "numeric": [asdict(c) for c in self.numeric_],
            "categorical": [asdict(c) for c in self.categorical_],
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> MetadataPreprocessor:
        """Rebuild from :meth:`to_dict`."""
        return cls(
            columns=state["columns"],
            numeric_=[_Numeric(**c) for c in state["numeric"]],
            categorical_=[_Categorical(**c) for c in state["categorical"]],
        )


def parse_metadata_option(value: str | None) -> str | list[str]:
    """``auto``, ``none`` or a comma-separated column list (the CLI's ``--metadata``)."""
    if value is None or value == "auto":
        return "auto"
    if value == "none":
        return []
    return [c.strip() for c in value.split(",") if c.strip()]
