"""Dataset builders: catalog selection -> tiles -> Hugging Face Parquet, card, RO-Crate, Croissant.

The heavy dependencies (``datasets``, ``pyarrow``, ``rocrate-validator``,
``mlcroissant``) come from the ``[hf]`` extra and are imported only when a
build runs.
"""

from fairmicro.builders.build import BuildConfig, BuildResult, build_dataset
from fairmicro.builders.info import Creator
from fairmicro.builders.splits import SplitSpec
from fairmicro.builders.tiling import TilingSpec
from fairmicro.catalog.selection import Selection

__all__ = [
    "BuildConfig",
    "BuildResult",
    "Creator",
    "Selection",
    "SplitSpec",
    "TilingSpec",
    "build_dataset",
]
