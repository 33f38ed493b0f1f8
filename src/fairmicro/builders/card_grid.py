"""The card's sample grid: one representative tile per class, each with a scale bar.

While a build streams its first split, :class:`GridPicker` keeps a few
candidate tiles per class (at most :data:`TILES_PER_IMAGE` from one image,
:data:`CANDIDATES` per class, in the build's sha256 order). At the end each
class shows its *medoid* candidate: the tile whose intensity statistics
(mean, spread, 5th/95th percentile, edge strength; standardised over the
class's candidates) are closest to all the others, leaving out near-blank tiles.
The rule uses only the pixels, so the same build always shows the same tiles.

The scale bar is a round length (1, 2 or 5 x 10^k nm) close to a quarter of the
tile's width, drawn as a white bar on a black box with its length in nm, µm or mm.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

CELL_PX = 160
TILES_PER_IMAGE = 3
CANDIDATES = 24
BAR_FRACTION = 0.3  # the bar is the longest round length up to this share of the tile width
BAR_ROWS = 3
LABEL_WIDTH = 130
PAD = 6
BOX_HEIGHT = 24


@dataclass
class Candidate:
    """One candidate tile: its preview, statistics and physical pixel size."""

    preview: np.ndarray  # 8-bit, grey or RGB, at most CELL_PX on each side
    features: np.ndarray
    nm_per_preview_px: float | None
    image_sha256: str
    specimen_id: str | None


@dataclass(frozen=True)
class Pick:
    """The tile a class shows, and its scale bar (length in nm and in preview pixels)."""

    label: str
    candidate: Candidate
    bar_nm: float | None
    bar_px: int | None


def nice_length(limit_nm: float) -> float | None:
    """The longest 1, 2 or 5 x 10^k nm not above ``limit_nm`` (None for a non-positive limit)."""
    if not limit_nm > 0 or not math.isfinite(limit_nm):
        return None
    power = 10.0 ** math.floor(math.log10(limit_nm))
    return next(step * power for step in (5, 2, 1) if step * power <= limit_nm * (1 + 1e-9))


def length_label(nm: float) -> str:
    """``"500 nm"``, ``"2 µm"``, ``"1 mm"``."""
    for unit, size in (("mm", 1e6), ("µm", 1e3)):
        if nm >= size:
            return f"{nm / size:g} {unit}"
    return f"{nm:g} nm"


def preview(pixels: np.ndarray, size: int = CELL_PX) -> np.ndarray:
    """An 8-bit, contrast-stretched preview fitting ``size`` x ``size`` with the tile's aspect ratio."""
    from PIL import Image

    values = pixels if pixels.ndim == 2 else pixels[..., :3]
    low, high = np.percentile(values, (0.5, 99.5))
    scaled = np.clip((values.astype(np.float32) - low) / max(float(high - low), 1e-6), 0, 1)
    image = Image.fromarray((scaled * 255).round().astype(np.uint8))
    scale = size / max(image.width, image.height)
    target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    return np.asarray(image.resize(target, resample))


def features(pixels: np.ndarray) -> np.ndarray:
    """Mean, spread, 5th/95th percentile and mean edge strength of a tile, on a 0..1 scale."""
    grey = pixels.astype(np.float64)
    if grey.ndim == 3:
        grey = grey[..., :3].mean(axis=2)
    top = float(np.iinfo(pixels.dtype).max) if np.issubdtype(pixels.dtype, np.integer) else 1.0
    grey /= top or 1.0
    edges = np.abs(np.diff(grey, axis=0)).mean() if grey.shape[0] > 1 else 0.0
    edges += np.abs(np.diff(grey, axis=1)).mean() if grey.shape[1] > 1 else 0.0
    p5, p95 = np.percentile(grey, (5, 95))
    return np.array([grey.mean(), grey.std(), p5, p95, edges])


def medoid(candidates: Sequence[Candidate]) -> Candidate:
    """The candidate closest to all others (near-blank tiles left out unless all are)."""
    spreads = np.array([c.features[1] for c in candidates])
    keep = [c for c, s in zip(candidates, spreads, strict=True) if s >= 0.2 * float(np.median(spreads))]
    pool = keep or list(candidates)
    matrix = np.stack([c.features for c in pool])
    matrix = (matrix - matrix.mean(axis=0)) / (matrix.std(axis=0) + 1e-9)
    distances = np.sqrt(((matrix[:, None, :] - matrix[None, :, :]) ** 2).sum(axis=2)).sum(axis=1)
    return pool[int(np.argmin(distances))]  # argmin takes the first of equals: stream order decides ties


@dataclass
class GridPicker:
    """Collects candidate tiles per class while the build streams (see the module docstring)."""

    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    per_image: dict[str, int] = field(default_factory=dict)

    def offer(self, label: str, tile: np.ndarray, row: Mapping[str, object]) -> None:
        """Consider one written tile of class ``label`` (``row``: its dataset row)."""
        sha = str(row["image_sha256"])
        pool = self.candidates.setdefault(label, [])
        if len(pool) >= CANDIDATES or self.per_image.get(sha, 0) >= TILES_PER_IMAGE:
            return
        self.per_image[sha] = self.per_image.get(sha, 0) + 1
        small = preview(tile)
        pixel_nm = row.get("pixel_size_x_nm")
        scale = None
        if isinstance(pixel_nm, (int, float)) and pixel_nm > 0:
            scale = float(pixel_nm) * tile.shape[1] / small.shape[1]
        specimen = row.get("specimen_id")
        pool.append(Candidate(small, features(tile), scale, sha, str(specimen) if specimen else None))

    def picks(self, class_names: Sequence[str]) -> list[Pick]:
        """One pick per class that has candidates, in ``class_names`` order."""
        chosen = []
        for label in class_names:
            if self.candidates.get(label):
                best = medoid(self.candidates[label])
                bar_nm = bar_px = None
                if best.nm_per_preview_px:
                    bar_nm = nice_length(BAR_FRACTION * best.preview.shape[1] * best.nm_per_preview_px)
                    bar_px = round(bar_nm / best.nm_per_preview_px) if bar_nm else None
                chosen.append(Pick(label, best, bar_nm, bar_px if bar_px and bar_px >= 2 else None))
        return chosen


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _draw_bar(draw: ImageDraw.ImageDraw, left: int, bottom: int, pick: Pick) -> None:
    """A black box with the white bar and its length at the tile's lower left corner."""
    assert pick.bar_px and pick.bar_nm
    text = length_label(pick.bar_nm)
    font = _font(11)
    text_width = int(draw.textlength(text.replace("µ", "u"), font=font))
    box_right = left + max(pick.bar_px, text_width) + 2 * 3
    draw.rectangle((left, bottom - BOX_HEIGHT, box_right, bottom), fill="black")
    bar_top = bottom - 3 - BAR_ROWS
    draw.rectangle((left + 3, bar_top, left + 3 + pick.bar_px - 1, bar_top + BAR_ROWS - 1), fill="white")
    _draw_label(draw, (left + 3, bottom - BOX_HEIGHT + 1), text, font)


def _draw_label(
    draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> None:
    """White ``text`` at ``xy``; a µ (missing from Pillow's built-in font) is drawn as a u with a tail."""
    x, y = xy
    for index, part in enumerate(text.split("µ")):
        if index:  # a µ before this part
            draw.text((x, y), "u", fill="white", font=font)
            left, _top, _right, bottom = draw.textbbox((x, y), "u", font=font)
            draw.line((left, bottom - 1, left, bottom + 2), fill="white")
            x += int(draw.textlength("u", font=font))
        draw.text((x, y), part, fill="white", font=font)
        x += int(draw.textlength(part, font=font))


def render_grid(picks: Sequence[Pick]) -> bytes | None:
    """A PNG with one row per class: its name, then its tile with a scale bar (None without picks)."""
    from PIL import Image, ImageDraw

    if not picks:
        return None
    width = LABEL_WIDTH + CELL_PX + 2 * PAD
    height = len(picks) * (CELL_PX + PAD) + PAD
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for row, pick in enumerate(picks):
        top = PAD + row * (CELL_PX + PAD)
        draw.text((PAD, top + CELL_PX // 2 - 8), pick.label[:20], fill="black", font=_font(13))
        tile = pick.candidate.preview
        canvas.paste(Image.fromarray(tile).convert("RGB"), (LABEL_WIDTH + PAD, top))
        if pick.bar_px:
            _draw_bar(draw, LABEL_WIDTH + PAD, top + tile.shape[0] - 1, pick)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def grid_caption(picks: Sequence[Pick]) -> str:
    """The card text under the grid: what each row shows and how long its scale bar is."""
    lines = []
    for pick in picks:
        where = f"specimen `{pick.candidate.specimen_id}`, " if pick.candidate.specimen_id else ""
        bar = (
            f"scale bar {length_label(pick.bar_nm)}"
            if pick.bar_px and pick.bar_nm
            else "no pixel size recorded, no scale bar"
        )
        lines.append(f"- **{pick.label}**: {where}image `{pick.candidate.image_sha256[:12]}`; {bar}")
    return "\n".join(lines)
