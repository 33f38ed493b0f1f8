"""Zero-shot qualification of microstructures against expert assessments (Safdar et al.).

CLIP compares each image with an assessment's positive and negative text
prompts, FLAVA with its positive and negative reference images; both deltas
are standardised per assessment and fused into one hybrid score, and
``hybrid >= threshold`` accepts the image. Nothing is trained. Use
:func:`qualify` (``fairmicro qualify`` on the command line); see docs/qualify.md.

Importing this package imports neither torch nor transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairmicro.models.qualifier.run import QualifyResult, qualify

__all__ = ["QualifyResult", "qualify"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from fairmicro.models.qualifier import run

        return getattr(run, name)
    raise AttributeError(f"module 'fairmicro.models.qualifier' has no attribute {name!r}")
