"""``fairmicro build``: catalog selection -> tiles -> Parquet shards, card, RO-Crate, Croissant.

Two passes over the selection: :func:`~fairmicro.builders.plan.plan_build`
decides labels, splits and the fingerprint without reading pixels; the second
pass reads each image once, tiles it and streams the rows into the split
writers. Everything is written into a hidden sibling folder and moved to
``--out`` only when complete and validated, then the build is recorded in the
catalog. The catalog may be read-only during all this; it is opened for writing
only for the move and the record (one short transaction). Hidden folders left
by a killed build are removed by the next build of the same ``--out``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shlex
import shutil
import socket
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fairmicro import __version__
from fairmicro.builders import card, croissant, hf, rocrate
from fairmicro.builders.card_grid import GridPicker
from fairmicro.builders.card_sources import SourceFacts
from fairmicro.builders.columns import LABEL_COLUMN, uses_lab_columns
from fairmicro.builders.deps import require
from fairmicro.builders.fingerprint import record_build
from fairmicro.builders.info import (
    DEFAULT_KEYWORDS,
    BuildInfo,
    Creator,
    SplitStats,
    check_license,
    default_creators,
    local_roots,
    redact_local,
)
from fairmicro.builders.model_input import input_rows, read_columns
from fairmicro.builders.plan import Plan, plan_build
from fairmicro.builders.splits import PUBLISHED, SplitSpec, check_classes
from fairmicro.builders.tiling import TilingSpec
from fairmicro.catalog.backend import snapshot_of
from fairmicro.catalog.selection import Selection, check_selection, iter_rows
from fairmicro.catalog.store import Catalog
from fairmicro.errors import DatasetBuildError

log = logging.getLogger(__name__)
TASKS = ("classification", "segmentation")


@dataclass(frozen=True)
class BuildConfig:
    """Everything a user chooses for one build (the CLI options)."""

    name: str
    out: Path
    selection: Selection = field(default_factory=Selection)
    label: str = "label"
    tiling: TilingSpec = field(default_factory=TilingSpec)
    splits: SplitSpec = field(default_factory=SplitSpec)
    license: str = "CC-BY-4.0"
    creators: tuple[Creator, ...] = ()
    description: str | None = None
    keywords: tuple[str, ...] = ()
    citation: str | None = None
    mask_dir: Path | None = None
    validate: bool = True
    max_shard_bytes: int = hf.MAX_SHARD_BYTES
    rows_per_group: int = hf.ROWS_PER_GROUP
    task: str = "classification"  # or "segmentation" (image + mask rows, see builders.segmentation)
    url: str | None = None  # the dataset's landing page (e.g. its Hub page), for Croissant `url` and the citation

    def __post_init__(self) -> None:
        # an unknown licence stops the build before anything is read or written
        object.__setattr__(self, "license", check_license(self.license))
        if self.task not in TASKS:
            raise DatasetBuildError(f"--task {self.task!r}: choose one of {', '.join(TASKS)}")

    def local_roots(self) -> list[str]:
        """Local folder prefixes that must not reach the published files."""
        extra = [self.out.parent] + ([self.mask_dir] if self.mask_dir else [])
        return local_roots(*extra)

    def public_where(self) -> str:
        """The selection as the published files state it (local folders redacted)."""
        return redact_local(self.selection.where, self.local_roots())

    def command_line(self) -> str:
        """The equivalent ``fairmicro build`` command (canonical option order).

        Local folders are left out: ``--out`` is the folder's name, and paths in
        ``--where``/``--param`` read ``<local>/...``.
        """
        t, s = self.tiling, self.splits
        roots = self.local_roots()
        args = [
            "fairmicro",
            "build",
            self.name,
            "--where",
            self.public_where(),
            *(a for p in self.selection.params for a in ("--where-param", redact_local(str(p), roots))),
            *(("--task", self.task) if self.task != "classification" else ("--label-column", self.label)),
        ]
        if t.tile is not None:
            args += ["--tile", str(t.tile), "--stride", str(t.step)]
        if not t.crop_data_bar:
            args.append("--keep-data-bar")
        if t.crop_bottom:
            args += ["--crop-bottom", str(t.crop_bottom)]
        if t.mask_guided:
            args += ["--mask-guided", "--mask-purity", f"{t.min_purity:g}"]
            args += [a for v, n in sorted(t.mask_classes.items()) for a in ("--mask-class", f"{v}={n}")]
        if s.published:
            args += ["--splits", PUBLISHED]
        else:
            args += [
                "--split-by",
                s.split_by,
                "--splits",
                ",".join(f"{f:g}" for f in s.fractions),
                "--seed",
                str(s.seed),
            ]
        args += ["--license", self.license]
        args += ["--allow-empty-class"] if s.allow_empty_class else []
        args += [a for c in self.creators for a in ("--creator", f"{c.name} <{c.orcid}>" if c.orcid else c.name)]
        args += ["--out", self.out.name]
        return shlex.join(args)


@dataclass
class BuildResult:
    """What a build produced."""

    out: Path
    dataset_id: str
    info: BuildInfo
    warnings: list[str]

    @property
    def fingerprint(self) -> str:
        """The dataset fingerprint."""
        return self.info.fingerprint


class _Collector:
    """Per-split writers plus the running counts the card needs."""

    def __init__(self, folder: Path, plan: Plan, config: BuildConfig) -> None:
        features = hf.hf_features(plan.class_names)
        schema = features.arrow_schema
        self.class_index = {name: i for i, name in enumerate(plan.class_names)}
        self.stats = {name: SplitStats(name) for name in config.splits.split_names}
        self.writers = {
            name: hf.SplitWriter(
                folder,
                stats,
                schema,
                rows_per_group=config.rows_per_group,
                max_shard_bytes=config.max_shard_bytes,
            )
            for name, stats in self.stats.items()
        }
        self.features = features
        self.coverage: Counter[str] = Counter()
        self.grid = GridPicker()  # one representative tile per class for the card
        self.sources = SourceFacts(label_column=config.label, task=config.task)
        self.notes: list[str] = []  # warnings of the document writers (RO-Crate RECOMMENDED issues)
        self.grid_split = next(iter(config.splits.active))
        self.membership: list[tuple[str, str, int]] = []

    def write_image(self, catalog: Catalog, row: dict[str, Any], plan: Plan, tiling: TilingSpec) -> int:
        """Write the rows of one image; returns how many."""
        return _write_image(catalog, row, plan, tiling, self)

    def add(self, split: str, label: str, row: dict[str, Any], tile_pixels: np.ndarray) -> None:
        row[LABEL_COLUMN] = self.class_index[label]
        self.writers[split].add(row)
        stats = self.stats[split]
        stats.classes[label] += 1
        self.coverage.update(k for k, v in row.items() if v is not None)
        if split == self.grid_split:
            self.grid.offer(label, tile_pixels, row)

    def close(self) -> list[SplitStats]:
        for writer in self.writers.values():
            writer.close()
        return list(self.stats.values())


def _write_image(catalog: Catalog, row: dict[str, Any], plan: Plan, tiling: TilingSpec, sink: _Collector) -> int:
    """Tile one image into the sink (through the one model-input function); returns the rows written."""
    sha = row["sha256"]
    planned = plan.images[sha]
    written = 0
    for tile, out in input_rows(catalog, row, tiling, plan.masks.get(sha)):
        sink.add(planned.split, tile.mask_label or planned.label, out, tile.pixels)
        written += 1
    return written


def _prepare_out(out: Path) -> Path:
    """A hidden sibling folder to build into; refuses to clobber a folder that is not a build."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / rocrate.METADATA_FILE).exists())):
        raise DatasetBuildError(f"{out}: exists and is not a fairmicro build; choose another --out or empty it")
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_siblings(out)
    staging = out.parent / _sibling_name(out, "building")
    staging.mkdir()
    return staging


# Hidden siblings of --out are named .NAME.building-<host>-<pid>-<random> (and .old- while swapping),
# so a later build can tell those of a killed process from those of a build still running.
_SIBLING = re.compile(r"\.(?:building|old)-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}")


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _sibling_name(out: Path, kind: str) -> str:
    return f".{out.name}.{kind}-{_host_tag()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _remove_stale_siblings(out: Path) -> None:
    """Remove hidden staging folders of earlier builds of ``out`` on this host whose process is gone."""
    prefix, host = f".{out.name}.", _host_tag()
    for entry in sorted(out.parent.iterdir(), key=_mtime, reverse=True):
        match = _SIBLING.fullmatch(entry.name[len(prefix) - 1 :]) if entry.name.startswith(prefix) else None
        if not match or match["host"] != host or _process_alive(int(match["pid"])):
            continue
        if not entry.is_dir() or entry.is_symlink():
            continue
        if entry.name.startswith(f"{prefix}old-") and not out.exists():
            # killed between moving the earlier build aside and moving the new one in: put it back
            log.info("restoring %s from %s, left by killed build process %s", out, entry, match["pid"])
            entry.rename(out)
            continue
        log.info("removing %s, left by killed build process %s", entry, match["pid"])
        shutil.rmtree(entry, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def _publish_folder(staging: Path, out: Path) -> None:
    if out.exists():
        old = out.parent / _sibling_name(out, "old")
        out.rename(old)
        staging.rename(out)
        shutil.rmtree(old)
    else:
        staging.rename(out)


def _describe(config: BuildConfig, plan: Plan, splits: list[SplitStats]) -> str:
    if config.description:
        return config.description
    if config.task == "segmentation":
        return (
            f"Micrographs with segmentation masks ({', '.join(plan.class_names)}) from a fairmicro catalog, "
            f"as {f'{config.tiling.tile}x{config.tiling.tile} px tiles' if config.tiling.tile else 'whole images'}, "
            f"{config.splits.described()} into {', '.join(s.name for s in splits if s.rows)}."
        )
    tile = f"{config.tiling.tile}x{config.tiling.tile} px tiles" if config.tiling.tile else "whole images"
    return (
        f"Micrographs from a fairmicro catalog as {tile}, labelled by `{config.label}` into "
        f"{len(plan.class_names)} classes ({', '.join(plan.class_names)}), {config.splits.described()} "
        f"into {', '.join(s.name for s in splits if s.rows)}."
    )


def _info(config: BuildConfig, plan: Plan, splits: list[SplitStats], sink: _Collector, grid: str | None) -> BuildInfo:
    return BuildInfo(
        name=config.name,
        description=_describe(config, plan, splits),
        license=config.license,
        creators=list(config.creators),
        keywords=list(dict.fromkeys([*DEFAULT_KEYWORDS, *config.keywords])),
        command=config.command_line(),
        where=config.public_where(),
        label_column="mask" if config.task == "segmentation" else config.label,
        class_names=plan.class_names,
        settings=plan.settings,
        fingerprint=plan.fingerprint,
        version=__version__,
        built_on=datetime.now(UTC).date(),
        splits=splits,
        coverage=dict(sink.coverage),
        citation=config.citation,
        grid_file=grid,
        model_input=config.tiling.model_input(),
        sources=sink.sources,
        url=config.url,
    )


def _write_documents(staging: Path, info: BuildInfo, sink: _Collector, validate: bool) -> None:
    if info.grid_file:
        info.grid_caption = card.write_grid(staging / info.grid_file, sink.grid, info.class_names)
    (staging / "README.md").write_text(card.render_card(info, sink.features), encoding="utf-8")
    croissant_path = croissant.write_croissant(staging, info)
    files = [
        *info.shard_files,
        *([info.grid_file] if info.grid_file else []),
        "README.md",
        croissant.CROISSANT_FILE,
    ]
    rocrate.write_crate(staging, info, files)
    if not validate:
        return
    problems = croissant.validate_croissant(croissant_path)
    if problems:
        raise DatasetBuildError(f"croissant.json does not validate: {problems[0]}")
    problems, advice = rocrate.check_crate(staging)
    if problems:
        raise DatasetBuildError(f"ro-crate-metadata.json does not validate: {problems[0]}")
    sink.notes += [f"ro-crate-metadata.json (RECOMMENDED): {note}" for note in advice]


def _stream(
    catalog: Catalog,
    config: BuildConfig,
    plan: Plan,
    sink: _Collector,
    on_image: Callable[[], None] | None,
) -> None:
    """Second pass: read, tile and write every planned image, in sha256 order."""
    for row in iter_rows(catalog, config.selection, [*read_columns(), "label_source"]):
        planned = plan.images.get(row["sha256"])
        if planned is not None:  # an image ingested since the plan is not in this build
            refs = getattr(sink, "refs", None)  # segmentation: the mask's source is the annotation's
            source = refs[row["sha256"]].source if refs else row.get("label_source")
            sink.sources.add(row, planned.label, planned.split, source)
            written = sink.write_image(catalog, row, plan, config.tiling)
            sink.stats[planned.split].images += 1
            sink.membership.append((row["sha256"], planned.split, written))
        if on_image:
            on_image()


def _record(catalog: Catalog, config: BuildConfig, info: BuildInfo, sink: _Collector, snapshot: int | None) -> str:
    counts = {s.name: s.to_dict() for s in info.splits}
    extra = {} if snapshot is None else {"catalog_snapshot": snapshot}  # `build --at-snapshot N` reads it again
    return record_build(
        catalog,
        name=config.name,
        fingerprint_hex=info.fingerprint,
        selection_sql=config.selection.where,
        parameters={**info.settings, "command": info.command, **extra},
        counts=counts,
        output_path=str(config.out.resolve()),
        version=__version__,
        membership=sink.membership,
    )


def _with_creators(config: BuildConfig) -> tuple[BuildConfig, list[str]]:
    """``config`` with the configured default creators when it names none, and a warning saying so."""
    if config.creators:
        return config, []
    creators, note = default_creators()
    log.info(note)  # returned among the build's warnings, which the CLI prints
    return replace(config, creators=creators), [note]


@uses_lab_columns  # the lab's specimen-table columns become dataset columns too
def build_dataset(catalog: Catalog, config: BuildConfig, on_image: Callable[[], None] | None = None) -> BuildResult:
    """Build the dataset ``config`` describes from ``catalog`` into ``config.out``.

    Parameters
    ----------
    on_image
        Called after each selected image (for progress bars).

    Raises
    ------
    DatasetBuildError
        For a bad selection, missing labels, an empty class (unless allowed), an
        unreadable image, or output that fails validation. A failed build leaves
        ``config.out`` as it was, and the catalog gets no row.

    Notes
    -----
    ``catalog`` may be read-only (as ``fairmicro build`` opens it, so queries run
    during a long build): it is then closed at the end and the file is opened
    for writing just long enough to record the build.
    """
    for module in ("datasets", "pyarrow.parquet"):
        require(module)
    config, creator_note = _with_creators(config)
    check_selection(catalog, config.selection)
    refs = None
    if config.task == "segmentation":
        from fairmicro.builders.segmentation import check_config, plan_segmentation

        check_config(config)
        plan, refs = plan_segmentation(catalog, config)
    else:
        plan = plan_build(catalog, config.selection, config.label, config.tiling, config.splits, config.mask_dir)
    staging = _prepare_out(config.out)
    try:
        sink, info, empty = _write_staging(catalog, config, plan, staging, on_image, refs)
        # Opened for writing only now (a read-only catalog waits here like any writer); the folder
        # moves into place only once the build can be recorded.
        snapshot = snapshot_of(catalog)  # the shared catalog's state this build read (None for a file)
        with catalog.writing() as writer:
            _publish_folder(staging, config.out)
            dataset_id = _record(writer, config, info, sink, snapshot)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    warnings = [*creator_note, *plan.warnings, *sink.notes] + [f"split/class without rows: {cell}" for cell in empty]
    return BuildResult(config.out, dataset_id, info, warnings)


def _write_staging(
    catalog: Catalog,
    config: BuildConfig,
    plan: Plan,
    staging: Path,
    on_image: Callable[[], None] | None,
    refs: dict[str, Any] | None = None,
) -> tuple[_Collector, BuildInfo, list[str]]:
    """Write shards and documents into ``staging``; returns the sink, the build info and empty cells."""
    if refs is not None:  # segmentation: image + mask rows
        from fairmicro.builders.segmentation_sink import SegmentationSink

        sink: _Collector = SegmentationSink(staging, plan, config, refs)
    else:
        sink = _Collector(staging, plan, config)
    _stream(catalog, config, plan, sink, on_image)
    splits = sink.close()
    if not any(s.rows for s in splits):
        raise DatasetBuildError(f"the selection gave no rows ({'; '.join(plan.warnings) or 'no tiles'})")
    counts = {s.name: s.classes for s in splits}
    empty = [] if refs is not None else check_classes(counts, plan.class_names, config.splits, unit="rows")
    grid = card.GRID_FILE if any(sink.grid.candidates.values()) else None
    info = _info(config, plan, splits, sink, grid)
    _write_documents(staging, info, sink, config.validate)
    return sink, info, empty
