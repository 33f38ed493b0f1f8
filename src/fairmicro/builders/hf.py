"""Hugging Face layout: ``Features`` from the schema and streaming Parquet shards.

Rows are buffered per split only up to one row group (``rows_per_group`` rows
or ``group_bytes`` of image data) and written with ``pyarrow.parquet`` as they
come, so memory does not grow with the selection. Shards roll over at
``max_shard_bytes`` and are renamed ``data/<split>-NNNNN-of-NNNNN.parquet``
once their number is known. Writer settings are fixed, so the same rows give
byte-identical files.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fairmicro.builders.columns import HF_DTYPES, IMAGE_COLUMN, LABEL_COLUMN, dataset_columns
from fairmicro.builders.deps import require
from fairmicro.builders.info import SplitStats

log = logging.getLogger(__name__)

DATA_DIR = "data"
ROWS_PER_GROUP = 100  # the Hub's row-group size for image datasets
GROUP_BYTES = 64 << 20
MAX_SHARD_BYTES = 500 << 20  # the Hub's default shard size
# Content-defined chunking with the options `datasets` uses, so re-uploads deduplicate on the Hub.
CDC_OPTIONS = {"min_chunk_size": 256 << 10, "max_chunk_size": 1 << 20, "norm_level": 0}


def hf_features(class_names: Sequence[str]) -> Any:
    """The dataset's ``datasets.Features``: image, ClassLabel label, schema-typed metadata."""
    datasets = require("datasets")
    features = {
        IMAGE_COLUMN: datasets.Image(),
        LABEL_COLUMN: datasets.ClassLabel(names=list(class_names)),
    }
    for column in dataset_columns():
        features[column.name] = datasets.Value(HF_DTYPES[column.sql_type])
    return datasets.Features(features)


def shard_name(split: str, index: int, total: int) -> str:
    """``data/<split>-NNNNN-of-NNNNN.parquet``."""
    return f"{DATA_DIR}/{split}-{index:05d}-of-{total:05d}.parquet"


class SplitWriter:
    """Streams the rows of one split into Parquet shards under ``folder``."""

    def __init__(
        self,
        folder: Path,
        stats: SplitStats,
        schema: Any,
        *,
        rows_per_group: int = ROWS_PER_GROUP,
        group_bytes: int = GROUP_BYTES,
        max_shard_bytes: int = MAX_SHARD_BYTES,
    ) -> None:
        self.folder = folder
        self.stats = stats
        self.schema = schema
        self.rows_per_group = rows_per_group
        self.group_bytes = group_bytes
        self.max_shard_bytes = max_shard_bytes
        self._buffer: dict[str, list[Any]] = {name: [] for name in schema.names}
        self._buffered_bytes = 0
        self._writer: Any = None
        self._shard_bytes = 0
        self._partials: list[Path] = []

    def add(self, row: dict[str, Any]) -> None:
        """Queue one row (``image`` as ``{"bytes", "path"}``); writes a row group when full."""
        for name, values in self._buffer.items():
            values.append(row.get(name))
        self._buffered_bytes += len(row[IMAGE_COLUMN]["bytes"])
        if len(self._buffer[IMAGE_COLUMN]) >= self.rows_per_group or self._buffered_bytes >= self.group_bytes:
            self._flush()

    def _open(self) -> None:
        pq = require("pyarrow.parquet")
        path = self.folder / f"{DATA_DIR}/{self.stats.name}-{len(self._partials):05d}.partial"
        path.parent.mkdir(parents=True, exist_ok=True)
        stats_columns = [n for n in self.schema.names if n != IMAGE_COLUMN]
        self._writer = pq.ParquetWriter(
            path,
            self.schema,
            compression="snappy",
            write_statistics=stats_columns,
            write_page_index=True,
            use_content_defined_chunking=CDC_OPTIONS,
        )
        self._partials.append(path)
        self._shard_bytes = 0

    def _flush(self) -> None:
        rows = len(self._buffer[IMAGE_COLUMN])
        if not rows:
            return
        pa = require("pyarrow")
        table = pa.Table.from_pydict(self._buffer, schema=self.schema)
        if self._writer is None:
            self._open()
        self._writer.write_table(table, row_group_size=rows)
        self.stats.rows += rows
        self.stats.num_bytes += table.nbytes
        self._shard_bytes += table.nbytes
        self._buffer = {name: [] for name in self.schema.names}
        self._buffered_bytes = 0
        if self._shard_bytes >= self.max_shard_bytes:
            self._writer.close()
            self._writer = None

    def close(self) -> list[str]:
        """Write what is left, close, and rename shards to their final names."""
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        total = len(self._partials)
        for index, partial in enumerate(self._partials):
            final = shard_name(self.stats.name, index, total)
            partial.rename(self.folder / final)
            self.stats.shards.append(final)
            self.stats.file_bytes += (self.folder / final).stat().st_size
        log.debug("split %s: %d rows in %d shard(s)", self.stats.name, self.stats.rows, total)
        return self.stats.shards
