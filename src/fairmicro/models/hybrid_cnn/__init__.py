"""The ``hybrid-cnn`` model plugin (Keras 3; imported lazily, no Keras at import time)."""

from fairmicro.models.hybrid_cnn.plugin import HybridCnnPlugin

__all__ = ["HybridCnnPlugin"]
