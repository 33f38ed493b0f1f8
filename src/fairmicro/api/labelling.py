"""``fairmicro.reviews`` and ``fairmicro.review``: the suggestions waiting for a person, and deciding one.

A classification :func:`fairmicro.predict` stores suggestions below its threshold
for review; ``fm.reviews()`` lists them and ``fm.review(image, ...)`` confirms or
corrects one (stored as a ``manual`` label), as ``fairmicro review`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fairmicro.api.catalog import Catalog, catalog_path
from fairmicro.api.ingest import PathLike
from fairmicro.errors import ModelError

if TYPE_CHECKING:
    from fairmicro.catalog.store import QueryResult


@dataclass(frozen=True)
class ReviewDecision:
    """A label a person set.

    Attributes
    ----------
    sha256, label
        The image and its label; ``source`` is always ``"manual"``.
    """

    sha256: str
    label: str
    source: str = "manual"

    def to_dict(self) -> dict[str, str]:
        """The JSON form ``fairmicro review IMAGE --json`` prints."""
        return {"sha256": self.sha256, "label": self.label, "source": self.source}


def reviews(catalog: Catalog | PathLike | None = None) -> QueryResult:
    """The suggestions waiting for review, least confident first (``fairmicro review``)."""
    from fairmicro.models.labelling import pending_reviews

    return pending_reviews(catalog_path(catalog))


def review(
    image: str,
    label: str | None = None,
    *,
    accept: bool = False,
    new_label: bool = False,
    catalog: Catalog | PathLike | None = None,
) -> ReviewDecision:
    """Confirm the model's suggestion for an image (``accept=True``) or set its correct ``label``.

    Parameters
    ----------
    image
        The image's sha256, or a prefix naming one image.
    label
        The correct label: one some image or the suggesting model already has.
    accept
        Confirm the suggestion instead (exactly one of ``accept`` and ``label``).
    new_label
        Allow a label no image has yet (a new class).
    catalog
        The catalog (a :class:`Catalog`, a file, or None for the default catalog).

    Returns
    -------
    ReviewDecision
        The image's full sha256 and the label now stored.

    Raises
    ------
    ModelError
        Both or neither of ``accept`` and ``label``; a prefix naming no image or several; nothing to
        confirm; an unknown label without ``new_label``. Nothing is stored then.
    """
    from fairmicro.models.labelling import set_manual_label

    if accept == (label is not None):
        raise ModelError("give exactly one of --accept or --label LABEL")
    if new_label and label is None:
        raise ModelError("--new-label needs --label LABEL")
    sha, chosen = set_manual_label(image, label, catalog=catalog_path(catalog), new_label=new_label)
    return ReviewDecision(sha, chosen)
