"""The options of an ingest, importable without DuckDB.

Checking a command's options comes first; with this module apart, that check
does not wait for DuckDB to load, and the files start being read meanwhile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fairmicro.catalog.specimens import SpecimenTable


@dataclass
class IngestOptions:
    """How files are joined to specimens and labels."""

    specimens: SpecimenTable | None = None
    specimen_pattern: re.Pattern[str] | None = None
    label_from_folder: bool = False
    strict: bool = False
    batch_size: int = 200  # a transaction costs ~40 ms in DuckDB: fewer, larger batches
    jobs: int = 1  # processes reading files (0: one per core); see catalog.workers
