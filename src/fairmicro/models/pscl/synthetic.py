"""Generated two- and three-phase microstructures with known masks (tests, benchmark, docs).

Phases are blobs of a smoothed random field cut at quantiles; each phase has
its own mean intensity and texture (smooth, fine-grained noise, or stripes),
so texture as well as grey level separates them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PHASE_NAMES = ("background", "phase_a", "phase_b")


def _smooth(noise: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur through the FFT (periodic), no scipy needed."""
    fy = np.fft.fftfreq(noise.shape[0])[:, None]
    fx = np.fft.fftfreq(noise.shape[1])[None, :]
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * (fx**2 + fy**2))
    return np.real(np.fft.ifft2(np.fft.fft2(noise) * kernel))


def phase_map(size: int, phases: int, rng: np.random.Generator, blob: float = 4.0) -> np.ndarray:
    """``size x size`` label map of ``phases`` blob phases (roughly equal areas)."""
    field = _smooth(rng.normal(size=(size, size)), blob)
    cuts = np.quantile(field, np.linspace(0, 1, phases + 1)[1:-1])
    return np.digitize(field, cuts).astype(np.uint8)


def _texture(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if kind == 0:
        return _smooth(rng.normal(size=(size, size)), 2.0) * 4
    if kind == 1:
        return rng.normal(size=(size, size))
    y, x = np.mgrid[:size, :size]
    angle = rng.uniform(0, np.pi)
    return np.sin((x * np.cos(angle) + y * np.sin(angle)) * 1.6)


def micrograph(size: int = 64, phases: int = 2, seed: int = 0, contrast: float = 12.0) -> tuple[np.ndarray, np.ndarray]:
    """One 8-bit grey micrograph and its label map.

    ``contrast`` is the grey-level step between phases; the textures differ
    by phase regardless, so a small ``contrast`` makes texture the main cue.
    """
    rng = np.random.default_rng(seed)
    labels = phase_map(size, phases, rng)
    image = np.full((size, size), 110.0)
    for phase in range(phases):
        where = labels == phase
        image[where] += phase * contrast + 25 * _texture(phase, size, rng)[where]
    image += rng.normal(0, 4, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def segmentation_dataset(
    splits: dict[str, int],
    size: int = 64,
    phases: int = 2,
    seed: int = 0,
    names: list[str] | None = None,
    **kwargs: Any,
) -> Any:
    """A ``datasets.DatasetDict`` in the format of ``fairmicro build --task segmentation``.

    ``splits`` maps split name to image count; ``names`` (optional) gives the file names in order.
    """
    import hashlib

    import datasets
    from PIL import Image

    from fairmicro.builders.segmentation import description_json, hf_features

    classes = list(PHASE_NAMES[:phases])
    features = datasets.Features(
        {
            k: v
            for k, v in hf_features(classes).items()
            if k in ("image", "mask", "file_name", "image_height_px", "image_width_px")
        }
    )
    features["image_sha256"] = datasets.Value("string")
    features["tile_x_px"] = datasets.Value("int64")
    features["tile_y_px"] = datasets.Value("int64")
    info = datasets.DatasetInfo(
        features=features,
        description=description_json([{"value": i, "name": n, "colour": None} for i, n in enumerate(classes)]),
    )
    result, index = {}, 0
    for split, count in splits.items():
        rows: dict[str, list[Any]] = {k: [] for k in features}
        for _ in range(count):
            image, mask = micrograph(size, phases, seed + index, **kwargs)
            name = names[index] if names else f"img_{index:03d}.tif"
            rows["image"].append(Image.fromarray(image))
            rows["mask"].append(Image.fromarray(mask, mode="L"))
            rows["file_name"].append(name)
            rows["image_sha256"].append(hashlib.sha256(image.tobytes()).hexdigest())
            rows["image_height_px"].append(size)
            rows["image_width_px"].append(size)
            rows["tile_x_px"].append(0)
            rows["tile_y_px"].append(0)
            index += 1
        result[split] = datasets.Dataset.from_dict(rows, features=features, info=info)
    return datasets.DatasetDict(result)
