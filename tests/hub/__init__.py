"""A small Hugging Face Hub-compatible HTTP server for tests (no network needed)."""
