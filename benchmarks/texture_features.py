"""Texture features (Haralick + LBP, default parameters): the current code against the old one, same run.

The old code is the reference implementation kept in
``tests/models/test_texture_reference.py`` (the pre-optimisation features,
which the tests prove equal to the current ones to 1e-9). Prints, for a
48-tile dataset (64 x 64 px, as the demo builds with ``--tile 64``):

1. features of every tile once, both single-threaded with the libraries
   loaded first (the algorithmic difference), interleaved repetitions, median;
2. the feature passes of a ``--mode hybrid --shuffle-metadata`` run (train,
   validation, shuffled validation, refit on train, validation again): the old
   code computes all five, the new one each tile once (cache);
3. "as shipped": each in a fresh interpreter, as ``fairmicro train`` ran it.
   The old plugin imported scipy inside ``threadpool_limits(1)``, which
   therefore never limited scipy's OpenBLAS: two threads per eigensolve.

Ratios are new/old (below 1 is faster). Usage:
``python benchmarks/texture_features.py [TILES] [REPEATS] [--kind 8bit|16bit|rgb]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the reference lives with the tests


def tiles(count: int, kind: str) -> list[np.ndarray]:
    """``count`` tiles of three classes (the sample textures), 64 x 64 px."""
    from fairmicro.testing.samples import texture

    dtype = "uint16" if kind == "16bit" else "uint8"
    made = []
    for index in range(count):
        grey = [texture((64, 64), kind=index % 3, seed=index * 3 + c, dtype=dtype) for c in range(3)]
        made.append(np.stack(grey, axis=-1) if kind == "rgb" else grey[0])
    return made


def _timed(func: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    func()
    return time.process_time() - cpu, time.perf_counter() - wall


def _old(images: list[np.ndarray]) -> np.ndarray:
    from fairmicro.models.texture_features import TextureSpec
    from tests.models.test_texture_reference import reference_features

    return np.array([reference_features(image, TextureSpec()) for image in images])


def _new(images: list[np.ndarray], cache: object = None) -> np.ndarray:
    from fairmicro.models.texture_cache import FeatureCache
    from fairmicro.models.texture_features import TextureSpec, feature_matrix

    return feature_matrix(images, TextureSpec(), cache=cache if cache is not None else FeatureCache())


def _run_passes(images: list[np.ndarray], compute: Callable[[list[np.ndarray]], np.ndarray]) -> None:
    train, validation = images[: len(images) // 2], images[len(images) // 2 :]
    for split in (train, validation, validation, train, validation):
        compute(split)


def _interleaved(old: Callable[[], object], new: Callable[[], object], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"old_cpu": [], "old_wall": [], "new_cpu": [], "new_wall": []}
    for _ in range(repeats):
        for name, func in (("old", old), ("new", new)):
            cpu, wall = _timed(func)
            times[f"{name}_cpu"].append(cpu)
            times[f"{name}_wall"].append(wall)
    return times


def _line(label: str, times: dict[str, list[float]], count: int) -> str:
    med = {key: statistics.median(values) for key, values in times.items()}
    return (
        f"{label}: old {med['old_cpu'] / count * 1e3:6.1f} ms CPU/tile ({med['old_wall']:.2f} s wall), "
        f"new {med['new_cpu'] / count * 1e3:6.1f} ms CPU/tile ({med['new_wall']:.2f} s wall) -> "
        f"new/old CPU {med['new_cpu'] / med['old_cpu']:.3f}, wall {med['new_wall'] / med['old_wall']:.3f}"
    )


def _fresh(which: str, count: int, kind: str) -> dict[str, float]:
    command = [sys.executable, __file__, str(count), "1", "--kind", kind, "--fresh", which]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fresh_child(which: str, count: int, kind: str) -> None:
    """One pass as the plugin ran it in a new process: libraries imported on first use, one-thread limit."""
    from threadpoolctl import threadpool_limits

    images = tiles(count, kind)
    cpu, wall = time.process_time(), time.perf_counter()
    if which == "old":
        with threadpool_limits(1):  # the old plugin: scipy (and its OpenBLAS) first loaded in here
            _old(images)
    else:
        _new(images)
    print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tiles", nargs="?", type=int, default=48)
    parser.add_argument("repeats", nargs="?", type=int, default=3)
    parser.add_argument("--kind", choices=("8bit", "16bit", "rgb"), default="8bit")
    parser.add_argument("--fresh", choices=("old", "new"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh:
        return _fresh_child(args.fresh, args.tiles, args.kind)
    from threadpoolctl import threadpool_limits

    images = tiles(args.tiles, args.kind)
    assert np.allclose(_old(images[:3]), _new(images[:3]), rtol=1e-9, atol=1e-9)  # warm-up and sanity
    print(f"{args.tiles} tiles, 64 x 64 px, {args.kind}, default TextureSpec; load average {os.getloadavg()[0]:.1f}")
    with threadpool_limits(1):
        once = _interleaved(lambda: _old(images), lambda: _new(images), args.repeats)
        print(_line("features once        ", once, args.tiles))
        run = _interleaved(
            lambda: _run_passes(images, _old),
            lambda: _run_passes(images, _cached_new()),
            args.repeats,
        )
        print(_line("hybrid+shuffle passes", run, args.tiles))
    shipped = {"old": _fresh("old", args.tiles, args.kind), "new": _fresh("new", args.tiles, args.kind)}
    print(
        f"as shipped (fresh process, one pass): old {shipped['old']['cpu']:.2f} s CPU / {shipped['old']['wall']:.2f} s "
        f"wall, new {shipped['new']['cpu']:.2f} s CPU / {shipped['new']['wall']:.2f} s wall -> new/old CPU "
        f"{shipped['new']['cpu'] / shipped['old']['cpu']:.3f}, wall {shipped['new']['wall'] / shipped['old']['wall']:.3f}"
    )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def _cached_new() -> Callable[[list[np.ndarray]], np.ndarray]:
    from fairmicro.models.texture_cache import FeatureCache

    cache = FeatureCache()  # one run's cache, fresh per repetition
    return lambda images: _new(images, cache)


if __name__ == "__main__":
    main()
