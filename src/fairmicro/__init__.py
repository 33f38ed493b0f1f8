"""fairmicro: microscope images to FAIR, queryable, publishable ML datasets."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # importlib.metadata costs a noticeable share of start-up: read the version only when asked
    if name != "__version__":
        raise AttributeError(f"module 'fairmicro' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("fairmicro")
    except PackageNotFoundError:  # running from a source tree without install
        found = "0.0.0+unknown"
    globals()["__version__"] = found  # read once: later lookups no longer reach __getattr__
    return found
