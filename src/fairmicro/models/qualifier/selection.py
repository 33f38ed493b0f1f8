"""Which images a qualifier run scores, normalises over and compares with.

Every SQL text (``--where``, ``--calibration`` and each assessment's
``where``) is the user's own and runs through the builders' selection
(:func:`fairmicro.catalog.selection.iter_rows`): checked to be one boolean
expression, then run on the sandboxed catalog connection (no file, network or
extension access). Errors keep their class and name the option or the
assessment file's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fairmicro.catalog.qualifications import catalog_rows
from fairmicro.catalog.selection import Selection, iter_rows
from fairmicro.errors import FairmicroError, ModelError, first_line
from fairmicro.models.qualifier import images
from fairmicro.models.qualifier.assessments import AssessmentSet, References
from fairmicro.models.qualifier.images import ImageRef

if TYPE_CHECKING:
    from fairmicro.catalog import Catalog


@dataclass(frozen=True)
class Plan:
    """The images of one run: scored, calibration (None: the batch) and references per assessment and side.

    ``masks`` (``--render-masks``): image sha256 -> the stored mask drawn in place of that image.
    """

    scored: list[ImageRef]
    calibration: list[ImageRef] | None
    references: dict[tuple[str, str], list[ImageRef]]
    masks: dict[str, Any] = field(default_factory=dict)

    def recipe(self, sha: str) -> str:
        """The embedding cache's preprocessing text of an image: the raw image's, or its drawn mask's."""
        if sha in self.masks:
            from fairmicro.models.qualifier.render import recipe

            return recipe(self.masks[sha])
        return images.PREPROCESSING

    def picture(self, catalog: Catalog, ref: ImageRef) -> Any:
        """The RGB picture the models read for an image (its drawn mask under ``--render-masks``)."""
        if ref.sha256 in self.masks:
            from fairmicro.models.qualifier.render import picture

            return picture(self.masks[ref.sha256])
        return images.load_rgb(catalog, ref)

    def all_images(self) -> dict[str, ImageRef]:
        """Every image of the run by sha256 (the first reference to it wins)."""
        found: dict[str, ImageRef] = {}
        for ref in [*self.scored, *(self.calibration or []), *(r for refs in self.references.values() for r in refs)]:
            found.setdefault(ref.sha256, ref)
        return found


def select(catalog: Catalog, where: str, label: str) -> list[ImageRef]:
    """Catalog images of a predicate, in sha256 order.

    Raises
    ------
    FairmicroError
        Of the selection's own class (sandbox, parse, run), prefixed with ``label``.
    """
    try:
        return [images.catalog_ref(row) for row in iter_rows(catalog, Selection(where), images.columns())]
    except FairmicroError as exc:
        if label == "--where":
            raise
        raise type(exc)(f"{label}: {first_line(exc)}") from exc


def plan(catalog: Catalog, assessments: AssessmentSet, where: str, calibration: str | None) -> Plan:
    """Select every image of a run, refusing an empty selection with one line.

    Raises
    ------
    ModelError
        If ``where``, ``calibration`` or a reference side selects no image.
    """
    scored = select(catalog, where, "--where")
    if not scored:
        raise ModelError(f"--where {where!r} selects no catalog images; nothing to qualify")
    chosen = None
    if calibration is not None:
        chosen = select(catalog, calibration, "--calibration")
        if not chosen:
            raise ModelError(f"--calibration {calibration!r} selects no catalog images")
    references = {}
    for index, assessment in enumerate(assessments.assessments):
        for side in ("positive", "negative"):
            label = f"{assessments.source}: assessments[{index}] ({assessment.name}).{side}_references"
            spec = getattr(assessment, f"{side}_references")
            references[(assessment.name, side)] = _references(catalog, spec, label)
    return Plan(scored, chosen, references)


def _references(catalog: Catalog, spec: References, label: str) -> list[ImageRef]:
    found = select(catalog, spec.where, f"{label}.where") if spec.where else []
    if spec.where and not found:
        raise ModelError(
            f"{label}.where {spec.where!r} selects no catalog images; ingest reference images that match it "
            "(e.g. `fairmicro ingest refs/ --label-from-folder`) or list files under 'paths'"
        )
    if spec.paths:
        files = [images.file_ref(path) for path in spec.paths]
        known = catalog_rows(catalog, [ref.sha256 for ref in files], images.columns())
        found += [ImageRef(ref.sha256, ref.path, known[ref.sha256]) if ref.sha256 in known else ref for ref in files]
    return found
