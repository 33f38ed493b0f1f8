"""Test support: generated sample files and the extractor conformance kit."""

from fairmicro.testing.conformance import check_extractor

__all__ = ["check_extractor"]
