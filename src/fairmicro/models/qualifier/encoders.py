"""CLIP and FLAVA encoders: loaded from a Hub id or a local folder through one code path.

A Hub id is first resolved to a folder (the local Hugging Face cache, or a
download when the Hub is reachable); the model is then always loaded from that
folder, so a test checkpoint saved with ``save_pretrained`` takes exactly the
route the public checkpoints take. The revision that keys the embedding cache
is the Hub commit sha of the snapshot, or the sha256 of a local folder's files.

Conventions (Safdar et al.): the CLIP image and text embeddings are the
projected pooled outputs; the FLAVA image embedding is the projected first
([CLS]) token of ``get_image_features``. Embeddings are returned as they come
(not normalised); :mod:`fairmicro.models.qualifier.scoring` normalises them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from fairmicro.errors import ModelError, first_line

DEFAULT_CLIP = "openai/clip-vit-base-patch32"
DEFAULT_FLAVA = "facebook/flava-full"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
HASHED_SUFFIXES = (".json", ".safetensors", ".bin", ".txt", ".model")
BATCH = 16
COMMAND = "fairmicro qualify"


@dataclass
class Encoder:
    """One loaded model: ``kind`` is ``clip`` or ``flava``."""

    kind: str
    model_id: str
    revision: str
    model: Any
    image_processor: Any
    tokenizer: Any | None = None

    def image_embeddings(self, images: Sequence[Any]) -> np.ndarray:
        """Embeddings of PIL RGB images, one row each (float64, not normalised)."""
        rows = [self._image_batch(images[i : i + BATCH]) for i in range(0, len(images), BATCH)]
        width = self.projection_dim()
        return np.concatenate(rows) if rows else np.zeros((0, width))

    def text_embeddings(self, texts: Sequence[str]) -> np.ndarray:
        """CLIP text embeddings of ``texts``, one row each (float64, not normalised)."""
        torch = _torch()
        if self.tokenizer is None:
            raise ModelError(f"{self.model_id}: a {self.kind} encoder has no text side here")
        inputs = self.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            out = self.model.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        return _pooled(out).double().numpy()

    def _image_batch(self, images: Sequence[Any]) -> np.ndarray:
        torch = _torch()
        pixel_values = self.image_processor(images=list(images), return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            out = self.model.get_image_features(pixel_values=pixel_values)
        features = _pooled(out)
        if self.kind == "flava" and features.ndim == 3:
            features = features[:, 0, :]  # the projected [CLS] token
        return features.double().numpy()

    def projection_dim(self) -> int:
        """Width of the embeddings."""
        config = self.model.config
        return int(getattr(config, "projection_dim", 0) or getattr(config, "hidden_size", 0))


def _pooled(out: Any) -> Any:
    """The tensor of a ``get_*_features`` result (transformers 5 returns an output object, 4 a tensor)."""
    return out if hasattr(out, "ndim") else out.pooler_output


def _torch() -> Any:
    from fairmicro.models.deps import require

    return require("torch", COMMAND)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """transformers and the Hub client without progress bars and warnings (no print in the library)."""
    transformers = _transformers()
    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(level)
        transformers.logging.enable_progress_bar()


def _transformers() -> Any:
    from fairmicro import extras

    return extras.require("transformers", "qualifier", COMMAND)


def load_encoder(kind: str, reference: str) -> Encoder:
    """Load CLIP (``kind="clip"``) or FLAVA (``"flava"``) from a Hub id (``ID`` or ``ID@REVISION``) or a folder.

    Raises
    ------
    ModelError
        One line naming the model and what to do (pass a local folder or pre-download it) when it
        cannot be found offline, or the folder does not hold a model of that kind.
    """
    folder, model_id, revision = resolve_model(kind, reference)
    transformers = _transformers()
    try:
        with _quiet():
            _check_model_type(transformers, kind, reference, folder)
            encoder = _load(transformers, kind, folder, model_id, revision)
    except ModelError:
        raise
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError... for a wrong folder
        raise ModelError(
            f"--{kind} {reference}: {folder} does not hold a {kind.upper()} model with its processor "
            f"({first_line(exc)})"
        ) from exc
    encoder.model.eval()
    return encoder


def _check_model_type(transformers: Any, kind: str, reference: str, folder: Path) -> None:
    """Refuse a folder of another architecture (transformers would load it into random weights)."""
    found = transformers.AutoConfig.from_pretrained(folder).model_type
    if found != kind:
        raise ModelError(f"--{kind} {reference}: {folder} holds a {found!r} model, not a {kind.upper()} model")


def _load(transformers: Any, kind: str, folder: Path, model_id: str, revision: str) -> Encoder:
    model_class = transformers.CLIPModel if kind == "clip" else transformers.FlavaModel
    model, info = model_class.from_pretrained(folder, output_loading_info=True)
    missing = [key for key in info.get("missing_keys", ()) if "position_ids" not in key]
    if missing:
        raise ModelError(
            f"--{kind} {model_id}: the checkpoint lacks {len(missing)} weight(s) of a "
            f"{kind.upper()} model (e.g. {missing[0]}); it is not a complete {kind.upper()} checkpoint"
        )
    if kind == "clip":
        processor = transformers.CLIPProcessor.from_pretrained(folder)
        return Encoder(kind, model_id, revision, model, processor.image_processor, processor.tokenizer)
    return Encoder(kind, model_id, revision, model, transformers.AutoImageProcessor.from_pretrained(folder))


def resolve_model(kind: str, reference: str) -> tuple[Path, str, str]:
    """(folder to load from, model id to record, revision) of ``reference``.

    Raises
    ------
    ModelError
        If a path does not exist, or a Hub id is neither cached nor downloadable.
    """
    path = Path(reference).expanduser()
    if path.is_dir():
        return path.resolve(), str(path.resolve()), folder_revision(path)
    if path.exists() or _looks_like_path(reference) or not HUB_ID.fullmatch(reference.partition("@")[0]):
        raise ModelError(
            f"--{kind} {reference}: no such model folder, and not a Hub model id; pass a folder saved with "
            f"save_pretrained or a Hub id such as {DEFAULT_CLIP if kind == 'clip' else DEFAULT_FLAVA}"
        )
    repo_id, _, revision = reference.partition("@")
    folder = _hub_snapshot(kind, repo_id, revision or None)
    return folder, repo_id, folder.name


def _looks_like_path(reference: str) -> bool:
    return reference.startswith((".", "/", "~")) or reference.count("/") > 1 or "\\" in reference


def folder_revision(folder: Path) -> str:
    """sha256 over the names and bytes of a model folder's config, vocabulary and weight files."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in HASHED_SUFFIXES):
        digest.update(str(file.relative_to(folder)).encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(partial(handle.read, 1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


def _hub_snapshot(kind: str, repo_id: str, revision: str | None) -> Path:
    """The cached snapshot folder of a Hub model, downloading it when the Hub answers."""
    from fairmicro.builders import deps

    hub = deps.require("huggingface_hub", COMMAND)
    patterns = ["*.json", "*.txt", "*.safetensors", "*.model"]
    with contextlib.suppress(Exception):  # not in the cache: try the Hub below
        return Path(hub.snapshot_download(repo_id, revision=revision, local_files_only=True))
    hint = (
        f"pass --{kind} a local folder with the model (saved with save_pretrained), or pre-download it "
        f"on a connected machine with `hf download {repo_id}`"
    )
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"} or not _hub_reachable():
        raise ModelError(
            f"--{kind} {repo_id}: not in the local Hugging Face cache and the Hub is not reachable; {hint}"
        )
    try:
        files = hub.HfApi().list_repo_files(repo_id, revision=revision)
        if not any(name.endswith(".safetensors") for name in files):
            patterns.append("*.bin")  # older checkpoints ship PyTorch pickles only
        return Path(hub.snapshot_download(repo_id, revision=revision, allow_patterns=patterns))
    except Exception as exc:  # unknown repo, gated model, network failure mid-way
        raise ModelError(f"--{kind} {repo_id}: cannot download it ({first_line(exc)}); {hint}") from exc


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub endpoint accepts a TCP connection (one quick probe instead of minutes of retries)."""
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False
