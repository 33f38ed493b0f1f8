"""Run artifacts: metrics.json, confusion-matrix and training-curve pictures, sha256 of each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fairmicro.hashing import sha256_file
from fairmicro.models.deps import require

COMMAND = "fairmicro train"


def describe(paths: list[Path]) -> list[dict[str, Any]]:
    """Path, size and sha256 of every artifact (what the run records)."""
    return [{"path": str(p.resolve()), "sha256": sha256_file(p), "size_bytes": p.stat().st_size} for p in paths]


def write_metrics(folder: Path, metrics: dict[str, Any]) -> Path:
    """``metrics.json``."""
    path = folder / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path


def _pyplot() -> Any:
    matplotlib = require("matplotlib", COMMAND)
    matplotlib.use("Agg")
    return require("matplotlib.pyplot", COMMAND)


def plot_confusion(folder: Path, scores: dict[str, Any], title: str) -> Path:
    """``confusion_matrix.png`` (rows true, columns predicted)."""
    plt = _pyplot()
    matrix, classes = scores["confusion_matrix"], scores["classes"]
    size = 1.2 + 0.6 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center")
    ax.set_title(f"{title}\naccuracy {scores['accuracy']:.3f}", fontsize=9)
    fig.colorbar(image)
    fig.tight_layout()
    path = folder / "confusion_matrix.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_history(folder: Path, history: dict[str, list[float]] | None) -> Path | None:
    """``training_curves.png`` from a plugin's ``history_`` (None when it has none).

    Epoch-trained plugins give ``loss``/``accuracy`` (+ ``val_``) per epoch; others
    give a learning curve (``train_size`` with ``train_accuracy``/``cv_accuracy``).
    """
    if not history:
        return None
    plt = _pyplot()
    if "train_size" in history:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for key in ("train_accuracy", "cv_accuracy"):
            ax.plot(history["train_size"], history[key], marker="o", label=key)
        ax.set_xlabel("training rows")
        ax.set_title("learning curve")
        ax.legend()
    else:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
        for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
            for key in (metric, f"val_{metric}"):
                if history.get(key):
                    ax.plot(range(1, len(history[key]) + 1), history[key], label=key)
            ax.set_xlabel("epoch")
            ax.set_title(metric)
            ax.legend()
    fig.tight_layout()
    path = folder / "training_curves.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_curves(
    folder: Path, stem: str, history: dict[str, list[float | None]], title: str, ylabel: str = "value"
) -> Path:
    """``<stem>.png``: every per-epoch series of ``history`` on one axis (e.g. a pretraining loss)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, values in history.items():
        points = [(i + 1, v) for i, v in enumerate(values) if v is not None]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o" if len(points) < 20 else None, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    path = folder / f"{stem}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
