"""Tiny random CLIP and FLAVA checkpoints built offline, for tests, demos and docs.

They are real ``transformers`` models (a few thousand weights, 32x32 inputs)
saved with ``save_pretrained`` together with a processor and a byte-level
tokenizer generated here, so ``fairmicro qualify --clip FOLDER --flava
FOLDER`` loads them through the same code path as the public checkpoints.
Their scores mean nothing; they exercise the pipeline without downloads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

IMAGE_SIZE = 32
SMALL = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}


def _byte_alphabet() -> list[str]:
    """The 256 printable stand-ins of GPT-2/CLIP byte-level BPE, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(extra)) for b in range(256)]


def write_clip_tokenizer(folder: Path) -> tuple[Path, Path]:
    """A byte-level CLIP vocabulary (every byte, alone and word-final) with no merges."""
    alphabet = _byte_alphabet()
    tokens = [*alphabet, *(c + "</w>" for c in alphabet), "<|startoftext|>", "<|endoftext|>"]
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    vocab.write_text(json.dumps({token: i for i, token in enumerate(tokens)}), encoding="utf-8")
    merges.write_text("#version: 0.2\n", encoding="utf-8")
    return vocab, merges


def _quiet_save(model: Any, processor: Any, folder: Path) -> None:
    import transformers

    transformers.logging.disable_progress_bar()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


def build_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """Save a tiny random CLIP (8-d projections) with its processor into ``folder``."""
    import torch
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    vocab, merges = write_clip_tokenizer(folder)
    tokenizer = transformers.CLIPTokenizer(str(vocab), str(merges), model_max_length=77)  # as CLIP's own
    config = transformers.CLIPConfig(
        text_config={
            **SMALL,
            "vocab_size": len(tokenizer),
            "max_position_embeddings": 77,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={**SMALL, "image_size": IMAGE_SIZE, "patch_size": 8},
        projection_dim=8,
    )
    torch.manual_seed(seed)
    model = transformers.CLIPModel(config)
    with _quiet():
        image_processor = transformers.CLIPImageProcessor(
            size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
        )
    _quiet_save(model, transformers.CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer), folder)
    return folder


def build_tiny_flava(folder: Path, seed: int = 0) -> Path:
    """Save a tiny random FLAVA (8-d projections) with its image processor into ``folder``."""
    import torch
    import transformers

    folder.mkdir(parents=True, exist_ok=True)
    config = transformers.FlavaConfig(
        image_config={**SMALL, "image_size": IMAGE_SIZE, "patch_size": 8},
        text_config={**SMALL, "vocab_size": 64},
        multimodal_config=SMALL,
        image_codebook_config={"hidden_size": 16, "num_groups": 1, "num_blocks_per_group": 1, "vocab_size": 16},
        projection_dim=8,
        hidden_size=16,
    )
    torch.manual_seed(seed)
    model = transformers.FlavaModel(config)
    with _quiet():
        processor = transformers.FlavaImageProcessor(
            size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
        )
    _quiet_save(model, processor, folder)
    return folder


def _quiet() -> Any:
    from fairmicro.models.qualifier.encoders import _quiet as quiet

    return quiet()
