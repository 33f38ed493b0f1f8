"""Test support: generated sample files and the extractor conformance kit."""
