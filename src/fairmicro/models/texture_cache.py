"""An in-memory cache of texture feature vectors, keyed by the tile's content.

A training run computes the features of the same tiles several times: the fit,
the evaluation, the metadata-shuffle check at evaluation (same pixels, other
metadata) and the refit on shuffled training metadata. The key is a digest of
the exact 8-bit grey pixels the features are computed from plus the feature
settings, so a hit is by construction the same computation: a changed tile,
another intensity scaling or other settings are a different key, and nothing
can be stale across runs. The cache is bounded (least recently used entries
go first).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

Spec = TypeVar("Spec", bound=Hashable)


class FeatureCache:
    """Feature vectors by (settings, grey pixels), least recently used evicted past ``max_entries``."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_compute(
        self, grey: np.ndarray, spec: Spec, compute: Callable[[np.ndarray, Spec], np.ndarray]
    ) -> np.ndarray:
        """The cached features of ``grey`` under ``spec``, else ``compute(grey, spec)`` (stored, read-only)."""
        key = _key(grey, spec)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
        features = np.array(compute(grey, spec), dtype=np.float64)
        features.setflags(write=False)
        with self._lock:
            self.misses += 1
            self._entries[key] = features
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return features

    def clear(self) -> None:
        """Forget every entry and reset the counters."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def _key(grey: np.ndarray, spec: Hashable) -> tuple[Any, ...]:
    pixels = np.ascontiguousarray(grey)
    digest = hashlib.blake2b(pixels.tobytes(), digest_size=32).digest()
    return (spec, pixels.dtype.str, pixels.shape, digest)
