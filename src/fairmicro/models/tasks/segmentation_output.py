"""Segmentation outputs: whole-image mask PNGs stitched from row predictions, and the task's plots."""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from fairmicro.errors import ModelError

log = logging.getLogger(__name__)
# height_px/width_px: the source image's size (the catalog's); image_height_px/image_width_px: after the build
# cropped its data bar (from the bottom, so tile origins are the same in both)
SOURCE_COLUMNS = (
    "image_sha256",
    "file_name",
    "height_px",
    "width_px",
    "image_height_px",
    "image_width_px",
    "tile_x_px",
    "tile_y_px",
)


def _table(data: Any) -> dict[str, list[Any]]:
    present = [c for c in SOURCE_COLUMNS if c in data.column_names]
    table = data.select_columns(present).to_dict() if present else {}
    count = len(data)
    table.setdefault("image_sha256", [f"row{i}" for i in range(count)])
    for column in SOURCE_COLUMNS[1:]:
        table.setdefault(column, [None] * count)
    return table


def _stem(file_name: str | None, sha: str) -> str:
    """The file stem of a source image's name (any folder part dropped), else the sha256."""
    name = Path(str(file_name).replace("\\", "/")).name if file_name else ""
    stem = Path(name).stem if name not in ("", ".", "..") else ""
    return stem if stem not in ("", ".", "..") else sha[:16]


def _size(table: dict[str, list[Any]], row: int, source: str) -> int | None:
    """The source image's extent (``height_px``/``width_px``), at least its extent after cropping."""
    sizes = [int(v) for v in (table[source][row], table[f"image_{source}"][row]) if v]
    return max(sizes) if sizes else None


def _place(canvas: np.ndarray, tile: np.ndarray, x: int, y: int) -> None:
    height, width = canvas.shape
    h, w = min(tile.shape[0], height - y), min(tile.shape[1], width - x)
    if h > 0 and w > 0:
        canvas[y : y + h, x : x + w] = tile[:h, :w]


def stitch(table: dict[str, list[Any]], predictions: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """Row predictions placed on their source image's full canvas: sha256 -> label map.

    Rows are whole images or tiles (``tile_x_px``/``tile_y_px`` origin); the canvas
    is the source image's ``height_px x width_px`` (else ``image_height_px x
    image_width_px``, its size after data-bar cropping; else the rows' extent).
    Pixels no row covers (e.g. a data bar the build cropped) are 0.
    """
    placed: dict[str, list[tuple[int, int, np.ndarray]]] = {}
    first: dict[str, int] = {}
    for row, tile in enumerate(predictions):
        x, y = int(table["tile_x_px"][row] or 0), int(table["tile_y_px"][row] or 0)
        sha = table["image_sha256"][row]
        first.setdefault(sha, row)
        placed.setdefault(sha, []).append((x, y, tile))
    result = {}
    for sha, tiles in placed.items():
        row = first[sha]
        height = _size(table, row, "height_px") or max(y + t.shape[0] for _, y, t in tiles)
        width = _size(table, row, "width_px") or max(x + t.shape[1] for x, _, t in tiles)
        canvas = np.zeros((int(height), int(width)), dtype=np.uint8)
        for x, y, tile in tiles:
            _place(canvas, tile, x, y)
        result[sha] = canvas
    return result


def _names(table: dict[str, list[Any]]) -> dict[str, tuple[str, str]]:
    """sha256 -> (file stem, name its mask is written under), in the order of the rows: a second image with
    one stem gets ``<stem>-<sha256 prefix>``."""
    names: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    for sha, file_name in zip(table["image_sha256"], table["file_name"], strict=True):
        if sha in names:
            continue
        stem = _stem(file_name, sha)
        name = stem if stem not in used else f"{stem}-{sha[:8]}"
        used.add(name)
        names[sha] = (stem, name)
    return names


MARK_KEY = "fairmicro"  # PNG text chunk of every mask predict writes: only such files are ever replaced
MARK_VALUE = "predicted mask"


def _ours(path: Path) -> bool:
    """Whether ``path`` is a mask an earlier ``predict --out`` wrote (it carries the mark)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return getattr(image, "text", {}).get(MARK_KEY) == MARK_VALUE
    except Exception:  # noqa: BLE001 - not an image we can read: not ours
        return False


def mask_targets(out: Path, data: Any) -> list[Path]:
    """The files :func:`write_masks` writes for ``data`` into ``out``, as absolute paths."""
    return _targets(out, _names(_table(data)))


def _targets(out: Path, names: dict[str, tuple[str, str]]) -> list[Path]:
    return [Path(os.path.abspath(out / f"{name}.png")) for _, name in names.values()]


def refuse_foreign(out: Path, targets: Iterable[Path], stored: Collection[str] = ()) -> None:
    """Refuse, before anything is written, to replace a file no ``predict --out`` wrote (a source image, a
    drawn mask: ``--out`` pointed at the data), or one a mask annotation records (``stored``: an earlier
    ``predict --annotate`` or ``ingest --masks``, whose record would then point at other pixels).

    Raises
    ------
    ModelError
        Naming the first such file.
    """
    if out.exists() and not out.is_dir():
        raise ModelError(f"--out {out}: exists and is not a folder")
    for path in targets:
        if str(path) in stored or os.path.realpath(path) in stored:
            raise ModelError(
                f"--out {out}: {path.name} is the stored mask of an annotation in the catalog (an earlier "
                "`predict --annotate` or `ingest --masks`); nothing was written. Choose another --out folder"
            )
        if os.path.lexists(path) and not (path.is_file() and not path.is_symlink() and _ours(path)):
            raise ModelError(
                f"--out {out}: {path.name} exists and was not written by `fairmicro predict` (a source image or a "
                "drawn mask?); nothing was written. Choose another --out folder or move that file"
            )


def write_masks(out: Path, data: Any, predictions: Iterable[np.ndarray]) -> dict[str, Path]:
    """Write ``out/<stem>.png`` (8-bit label map) per source image; returns sha256 -> path.

    Only files an earlier ``predict --out`` wrote are replaced; any other file in the way stops the
    prediction before the model runs.
    """
    from PIL import Image, PngImagePlugin

    out = Path(out)
    table = _table(data)
    names = _names(table)
    refuse_foreign(out, _targets(out, names))  # again: the folder may have changed since the run started
    for sha, (stem, name) in names.items():
        if name != stem:
            log.warning("two images are named %s; the mask of %s is written as %s.png", stem, sha[:12], name)
    stitched = stitch(table, predictions)
    out.mkdir(parents=True, exist_ok=True)
    mark = PngImagePlugin.PngInfo()
    mark.add_text(MARK_KEY, MARK_VALUE)
    written = {}
    for sha, (_, name) in names.items():
        if sha not in stitched:
            continue
        path = out / f"{name}.png"
        partial = out / f".{name}.png.partial"
        Image.fromarray(stitched[sha], mode="L").save(partial, format="PNG", pnginfo=mark)
        os.replace(partial, path)
        written[sha] = path
    return written


def _pyplot() -> Any:
    from fairmicro.models.artifacts import _pyplot as pyplot

    return pyplot()


def plot_class_scores(folder: Path, metrics: dict[str, Any], title: str) -> Path:
    """``class_scores.png``: Dice and IoU per class (bars: mean over repeats, whiskers: std)."""
    plt = _pyplot()
    names = list(metrics["per_class"])
    fig, ax = plt.subplots(figsize=(2 + 1.2 * len(names), 3.5))
    positions = np.arange(len(names))
    for offset, metric in ((-0.2, "dice"), (0.2, "iou")):
        values = [metrics["per_class"][n][metric] or 0.0 for n in names]
        errors = [metrics["per_class"][n][f"{metric}_std"] or 0.0 for n in names]
        ax.bar(positions + offset, values, 0.4, yerr=errors, capsize=3, label=metric)
    ax.set_xticks(positions, names, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.legend()
    mean = metrics.get("mean_dice")
    ax.set_title(f"{title}\nmean Dice {mean:.3f}" if mean is not None else title, fontsize=9)
    fig.tight_layout()
    path = folder / "class_scores.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_loss(folder: Path, history: dict[str, list[float]], title: str) -> Path:
    """``loss_curve.png``: training loss per epoch (each repeat thin, their mean thick)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, values in history.items():
        if key.startswith("loss") and values:
            ax.plot(range(1, len(values) + 1), values, label=key, linewidth=2.5 if key == "loss" else 0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = folder / "loss_curve.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
