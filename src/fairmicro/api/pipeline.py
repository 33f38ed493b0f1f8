"""``fairmicro.build`` and ``fairmicro.publish``: catalog selection -> dataset folder -> Hugging Face Hub.

Thin wrappers over :func:`fairmicro.builders.build_dataset` and
:func:`fairmicro.builders.publish.publish` taking the CLI's options as
keyword arguments (same names, same defaults).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairmicro.api.catalog import Catalog, catalog_path
from fairmicro.api.ingest import PathLike
from fairmicro.errors import DatasetBuildError, FairmicroError

if TYPE_CHECKING:
    from fairmicro.builders import BuildResult
    from fairmicro.builders.publish import PublishResult


@dataclass(frozen=True)
class BuildReport:
    """What :func:`build` wrote.

    Attributes
    ----------
    name, path, dataset_id, fingerprint
        The dataset's name, folder, catalog id and content fingerprint.
    rows, images
        Rows (tiles or whole images) and source images.
    classes
        Class names, in label-id order.
    splits
        Per split: rows, images, groups and rows per class.
    warnings
        Notes of the build (e.g. an image smaller than a tile).
    result
        The builder's own :class:`~fairmicro.builders.BuildResult`.
    """

    name: str
    path: Path
    dataset_id: str
    fingerprint: str
    rows: int
    images: int
    classes: list[str]
    splits: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    result: BuildResult | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, result: BuildResult) -> BuildReport:
        """The report of a finished build."""
        info = result.info
        return cls(
            info.name,
            result.out,
            result.dataset_id,
            info.fingerprint,
            info.rows,
            info.images,
            list(info.class_names),
            {s.name: s.to_dict() for s in info.splits},
            list(result.warnings),
            result,
        )

    def to_dict(self) -> dict[str, object]:
        """The JSON form ``fairmicro build --json`` prints."""
        return {
            "name": self.name,
            "out": str(self.path),
            "dataset_id": self.dataset_id,
            "fingerprint": self.fingerprint,
            "rows": self.rows,
            "images": self.images,
            "classes": self.classes,
            "splits": self.splits,
            "warnings": self.warnings,
        }

    def __fspath__(self) -> str:
        return str(self.path)


def _fractions(splits: str | Sequence[float]) -> tuple[float, ...]:
    if isinstance(splits, str):
        try:
            return tuple(float(part) for part in splits.split(","))
        except ValueError as exc:
            raise DatasetBuildError(
                f"--splits {splits!r}: expected fractions like 0.7,0.15,0.15, or folders (the published splits)"
            ) from exc
    try:
        return tuple(float(f) for f in splits)
    except (TypeError, ValueError) as exc:
        raise DatasetBuildError(f"splits {splits!r}: expected fractions like (0.7, 0.15, 0.15)") from exc


def _texts(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """One text or several (a single string is one item, not its characters)."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _mask_classes(classes: Mapping[int, str] | Sequence[str] | None) -> dict[int, str]:
    if classes is None:
        return {}
    if isinstance(classes, Mapping):
        return {int(k): str(v) for k, v in classes.items()}
    pairs = [entry.partition("=") for entry in _texts(classes)]
    if any(not sep or not value.strip().isdigit() or not name.strip() for value, sep, name in pairs):
        raise DatasetBuildError(f"mask_classes {classes!r}: expected {{VALUE: NAME}} or ['1=graphite', ...]")
    return {int(value): name.strip() for value, _, name in pairs}


def names_published(splits: object) -> bool:
    """Whether a ``--splits`` value asks for the published splits (``folders``, in any case)."""
    from fairmicro.builders.splits import names_published as names

    return names(splits)


def build(
    name: str,
    out: PathLike,
    *,
    license: str,
    catalog: Catalog | PathLike | None = None,
    where: str = "TRUE",
    params: Sequence[Any] = (),
    label: str = "label",
    task: str = "classification",
    tile: int | None = None,
    stride: int | None = None,
    keep_data_bar: bool = False,
    crop_bottom: int = 0,
    mask_guided: bool = False,
    mask_dir: PathLike | None = None,
    mask_purity: float = 1.0,
    mask_classes: Mapping[int, str] | Sequence[str] | None = None,
    split_by: str = "specimen_id",
    splits: str | Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    allow_empty_class: bool = False,
    creators: str | Iterable[str] = (),
    description: str | None = None,
    keywords: str | Iterable[str] = (),
    citation: str | None = None,
    max_shard_mb: int = 500,
    validate: bool = True,
    at_snapshot: int | None = None,
    on_image: Callable[[], None] | None = None,
) -> BuildReport:
    """Build a Hugging Face dataset (Parquet + card), RO-Crate and Croissant from the catalog (``fairmicro build``).

    Parameters
    ----------
    name
        Dataset name (card title, crate name, catalog record).
    out
        Output folder (replaced if it holds an earlier build).
    license
        SPDX licence id or expression, e.g. ``"CC-BY-4.0"``.
    catalog
        A :class:`Catalog`, a catalog file, or None (``$FAIRMICRO_CATALOG`` / ``./fairmicro.duckdb``).
    where, params
        SQL predicate over ``image_metadata`` (runs sandboxed) and the values of its ``?`` placeholders.
    label
        ``image_metadata`` column holding the class label.
    task
        ``"classification"`` or ``"segmentation"`` (image + mask rows).
    tile, stride
        Square tile edge and step in px (default: whole images; stride = tile).
    keep_data_bar, crop_bottom
        Keep the vendor data bar; rows to cut off images with no recorded data bar.
    mask_guided, mask_dir, mask_purity, mask_classes
        Keep only tiles whose mask is one class (``mask_purity`` of it); masks named like the
        images in ``mask_dir``; mask value -> class name to label tiles from the mask.
    split_by, splits, seed, allow_empty_class
        Column whose groups never span two splits; fractions of train[, validation], test
        (``(0.7, 0.15, 0.15)`` or ``"0.7,0.15,0.15"``), or ``"folders"`` for the published splits (the
        nearest train/val(idation)/test folder of each image's path); seed; build even if a split lacks a class.
    creators
        ``"Name <ORCID iD>"`` entries (default: ``$FAIRMICRO_CREATOR``, config, or git user.name).
    description, keywords, citation
        For the card and crate.
    max_shard_mb
        Roll over to a new Parquet shard after this many MB.
    validate
        Validate the RO-Crate and Croissant files.
    at_snapshot
        Read a shared (DuckLake) catalog as it was at this snapshot; the build is then dated by it
        (``SOURCE_DATE_EPOCH``, unless set), so a rebuild from it gives the same bytes.
    on_image
        Called after each selected image (progress).

    Returns
    -------
    BuildReport
        Folder, dataset id, fingerprint, counts per split and class, warnings.

    Raises
    ------
    DatasetBuildError
        Bad selection, missing labels, an empty class, unreadable image or invalid output; ``out``
        is left as it was and the catalog gets no row.
    """
    from fairmicro.builders import (
        BuildConfig,
        Creator,
        Selection,
        SplitSpec,
        TilingSpec,
        build_dataset,
    )
    from fairmicro.catalog.store import Catalog as Store

    if not isinstance(where, str):
        raise DatasetBuildError(f"where {where!r}: expected an SQL predicate over image_metadata")
    config = BuildConfig(
        name=name,
        out=Path(out),
        selection=Selection(where, tuple(params)),
        label=label,
        tiling=TilingSpec(
            tile=tile,
            stride=stride,
            crop_data_bar=not keep_data_bar,
            crop_bottom=crop_bottom,
            mask_guided=mask_guided,
            min_purity=mask_purity,
            mask_classes=_mask_classes(mask_classes),
        ),
        splits=SplitSpec.from_folders(allow_empty_class)
        if names_published(splits)
        else SplitSpec(_fractions(splits), split_by, seed, allow_empty_class=allow_empty_class),
        license=license,
        creators=tuple(Creator.parse(c) for c in _texts(creators)),
        description=description,
        keywords=_texts(keywords),
        citation=citation,
        mask_dir=None if mask_dir is None else Path(mask_dir),
        validate=validate,
        max_shard_bytes=int(max_shard_mb) << 20,
        task=task,
    )
    path = catalog_path(catalog)
    _pin(path, at_snapshot)
    # read-only while building (queries keep their turns); writable only to record the build
    with Store.open_for_reading(path) as cat:
        return BuildReport.of(build_dataset(cat, config, on_image))


def _pin(path: Path | None, at_snapshot: int | None) -> None:
    """Read one snapshot of a shared catalog, and date the build by it (a rebuild gives the same bytes)."""
    from fairmicro.catalog.backend import pin_snapshot
    from fairmicro.catalog.connection import resolve_catalog_path

    pinned = pin_snapshot(resolve_catalog_path(path), at_snapshot)
    if pinned:
        os.environ.setdefault("SOURCE_DATE_EPOCH", str(pinned[1]))


def publish(
    folder: PathLike | BuildReport,
    repo: str,
    *,
    tag: str | None = None,
    private: bool = False,
    dry_run: bool = False,
    catalog: Catalog | PathLike | None = None,
) -> PublishResult:
    """Upload a built dataset to the Hugging Face Hub in one commit, tag it, record it (``fairmicro publish``).

    The token comes from ``HF_TOKEN`` or ``hf auth login``; ``HF_ENDPOINT`` selects the Hub.

    Parameters
    ----------
    folder
        A folder written by :func:`build` (or its :class:`BuildReport`).
    repo
        Hub dataset repository ``ORG/NAME`` (created if missing).
    tag
        Tag the published revision, e.g. ``"v1.0"``.
    private
        Create the repository private.
    dry_run
        List what would be uploaded (``result.changes``); change nothing.
    catalog
        The catalog that recorded the build.

    Returns
    -------
    PublishResult
        Repo URL, commit sha, tag, per-file changes and the publication id.

    Raises
    ------
    HubError
        Authentication, network or conflict problems, one line each; nothing is recorded then.
    """
    from fairmicro.builders.publish import publish as run_publish

    if not isinstance(repo, str):
        raise FairmicroError(f"repo {repo!r}: expected a Hub dataset repository ORG/NAME")
    return run_publish(Path(folder), repo, tag=tag, private=private, dry_run=dry_run, catalog=catalog_path(catalog))
