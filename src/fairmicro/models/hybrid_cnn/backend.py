"""Importing Keras: the torch backend unless ``KERAS_BACKEND`` says otherwise."""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

from fairmicro.errors import ModelError
from fairmicro.models.deps import require

COMMAND = "fairmicro train hybrid-cnn"
DEFAULT_BACKEND = "torch"
# Keras backend -> the library it needs, and how to install that library.
BACKEND_HINTS = {
    "torch": "install torch (a CPU build: pip install torch --index-url "
    "https://download.pytorch.org/whl/cpu) or set KERAS_BACKEND=tensorflow",
    "tensorflow": "install it with pip install 'fairmicro[tf]' or unset KERAS_BACKEND (torch)",
    "jax": "install jax or unset KERAS_BACKEND (torch)",
}


def import_keras() -> ModuleType:
    """Keras, imported with ``KERAS_BACKEND`` defaulting to torch.

    The backend is fixed when Keras is first imported, so the default is set
    only if Keras is not imported yet and the variable is unset (the
    ``backend`` entry of ``~/.keras/keras.json`` is overridden by it).

    Raises
    ------
    ModelError
        The backend is unknown or its library is not installed.
    """
    if "keras" not in sys.modules:
        backend = os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)
        if backend not in BACKEND_HINTS:
            raise ModelError(f"hybrid-cnn: KERAS_BACKEND={backend!r} is not one of {', '.join(BACKEND_HINTS)}")
        if importlib.util.find_spec(backend) is None:
            raise ModelError(
                f"hybrid-cnn: Keras runs on {backend} here (KERAS_BACKEND) but {backend} "
                f"is not installed; {BACKEND_HINTS[backend]}"
            )
    return require("keras", COMMAND)
