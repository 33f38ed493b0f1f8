"""fairmicro: microscope images to FAIR, queryable, publishable ML datasets."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fairmicro")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
