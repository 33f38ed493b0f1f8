"""Vendor extractors: one module per vendor, registered through entry points."""
