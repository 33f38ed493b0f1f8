"""One way the PSCL plugins write and read their weights and JSON settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_checkpoint(folder: Path, weights: str, state: Any, config_name: str, config: dict[str, Any]) -> list[Path]:
    """Save ``state`` (tensors) as ``folder/weights`` and ``config`` as sorted JSON; returns both paths."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / weights)
    (folder / config_name).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    return [folder / weights, folder / config_name]


def read_checkpoint(folder: Path, weights: str, config_name: str) -> tuple[Any, dict[str, Any]]:
    """What :func:`write_checkpoint` wrote: (tensors on the CPU, settings)."""
    import torch

    config = json.loads((folder / config_name).read_text(encoding="utf-8"))
    return torch.load(folder / weights, map_location="cpu", weights_only=True), config
