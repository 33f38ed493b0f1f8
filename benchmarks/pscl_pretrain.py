"""Print PSCL pretraining throughput (images/s) on CPU, tiny and default channel widths.

    python benchmarks/pscl_pretrain.py [--steps 3] [--crop 128] [--batch-size 8]

One "image" is one crop of one training step (two views each). Generated
two-phase microstructures; the first step (allocation, warm-up) is not timed.
"""

from __future__ import annotations

import argparse
import time


def measure(base_channels: int, variant: str, steps: int, crop: int, batch_size: int) -> float:
    """Images per second over ``steps`` timed steps after one warm-up step."""
    from fairmicro.models.pscl.data import standardise
    from fairmicro.models.pscl.pretrain import PretrainConfig, pretrain
    from fairmicro.models.pscl.synthetic import micrograph

    images = [standardise(micrograph(crop + 32, 2, seed=i)[0], 1) for i in range(batch_size)]
    config = PretrainConfig(variant=variant, epochs=1, batch_size=batch_size, crop=crop, base_channels=base_channels)
    pretrain(images, config)  # warm-up
    config = PretrainConfig(
        variant=variant, epochs=steps, batch_size=batch_size, crop=crop, base_channels=base_channels
    )
    start = time.perf_counter()
    pretrain(images, config)
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    """Print one line per (width, variant)."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), crop {args.crop}, batch {args.batch_size}")
    for base in (8, 32):
        for variant in ("simclr", "moco"):
            rate = measure(base, variant, args.steps, args.crop, args.batch_size)
            print(f"base_channels {base:>2} ({'tiny' if base < 32 else 'default'}) {variant:<6}: {rate:7.2f} images/s")


if __name__ == "__main__":
    main()
