"""The LinkML schema (source of truth) and the code generated from it."""

from __future__ import annotations

from pathlib import Path

SCHEMA_DIR = Path(__file__).parent
SCHEMA_PATH = SCHEMA_DIR / "fairmicro.yaml"
DDL_PATH = SCHEMA_DIR / "ddl.sql"

__all__ = ["DDL_PATH", "SCHEMA_DIR", "SCHEMA_PATH"]
