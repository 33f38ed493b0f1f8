"""Metadata preprocessing, fitted on the training split only.

Numeric columns are standardised; categorical columns are one-hot encoded
(categories seen in training; an unseen value encodes as all zeros); a
missing value is imputed (training mean, or no category) and flagged in an
indicator column. ``columns="auto"`` keeps the candidate columns that vary in
the training split. The chosen columns are part of the saved state and are
recorded in the run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fairmicro.errors import ModelError
from fairmicro.models.data import metadata_candidates, metadata_table


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


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _varies(values: list[Any]) -> bool:
    return len({repr(v) for v in values}) > 1


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
        candidates = metadata_candidates(data)
        if self.columns == "auto":
            table = metadata_table(data, candidates)
            chosen = [c for c in candidates if _varies(table[c])]
        else:
            chosen = list(self.columns)
            unknown = [c for c in chosen if c not in data.column_names]
            if unknown:
                raise ModelError(f"metadata column(s) {', '.join(unknown)} not in the dataset; have {', '.join(candidates)}")
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
        for column in self.categorical_:
            names += [f"{column.name}={c}" for c in column.categories]
            if column.has_missing:
                names.append(f"{column.name}__missing")
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
        for column in self.categorical_:
            values = table[column.name]
            index = {c: i for i, c in enumerate(column.categories)}
            onehot = np.zeros((len(values), len(column.categories)))
            for row, value in enumerate(values):
                if not _missing(value) and str(value) in index:
                    onehot[row, index[str(value)]] = 1.0
            blocks.append(onehot)
            if column.has_missing:
                blocks.append(np.array([[float(_missing(v))] for v in values]))
        return np.hstack(blocks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {"columns": self.columns, "numeric": [asdict(c) for c in self.numeric_],
                "categorical": [asdict(c) for c in self.categorical_]}

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
