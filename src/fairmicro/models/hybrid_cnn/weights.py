"""Backbone weights: ImageNet (downloaded by Keras, failing fast offline), none, or a local file."""

from __future__ import annotations

import logging
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fairmicro.errors import ModelError, first_line
from fairmicro.models.hybrid_cnn.backbones import Backbone
from fairmicro.models.hybrid_cnn.backend import COMMAND

log = logging.getLogger(__name__)

LOCAL_SUFFIXES = (".weights.h5", ".h5", ".keras")


def offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (fairmicro's one offline switch) is set, as the Hub code reads it."""
    from fairmicro.builders.hub import HubSettings

    return HubSettings.from_env(COMMAND).offline


class _Refuse(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """An opener handler that refuses every HTTP(S) request."""

    def http_open(self, req: Any) -> Any:
        raise urllib.error.URLError("HF_HUB_OFFLINE is set, so nothing is downloaded")

    https_open = http_open


@contextmanager
def download_guard(timeout: float) -> Iterator[None]:
    """Make a Keras weight download fail fast instead of hanging.

    A socket timeout bounds every network wait; with ``HF_HUB_OFFLINE`` set,
    urllib (which ``keras.utils.get_file`` uses) refuses to connect at all, so
    only weights already in the Keras cache load.
    """
    saved_timeout = socket.getdefaulttimeout()
    saved_opener = getattr(urllib.request, "_opener", None)
    socket.setdefaulttimeout(timeout)
    if offline():
        urllib.request.install_opener(urllib.request.build_opener(_Refuse()))
    try:
        yield
    finally:
        socket.setdefaulttimeout(saved_timeout)
        urllib.request.install_opener(saved_opener)


# keras.utils.get_file re-raises URL errors as a bare Exception with this text.
FETCH_FAILURE = re.compile(r"URL fetch failure on (?P<url>\S+): .*? -- (?P<reason>.*)", re.DOTALL)


def _download_failure(exc: BaseException) -> bool:
    return isinstance(exc, OSError) or FETCH_FAILURE.match(str(exc)) is not None


def _keras_cache() -> str:
    return os.path.join(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")), "models")


def build_backbone(keras: Any, chosen: Backbone, size: int, weights: str, timeout: float) -> Any:
    """The backbone without its classifier head, with the requested weights.

    Parameters
    ----------
    keras
        The imported Keras module.
    chosen
        The backbone.
    size
        Square input size in pixels (3 channels).
    weights
        ``"imagenet"``, ``"none"`` or the path of a local ``.weights.h5``/``.h5``/``.keras`` file.
    timeout
        Seconds any network wait may take while ImageNet weights download.
    """
    constructor = getattr(keras.applications, chosen.application)
    shape = (size, size, 3)
    if weights == "imagenet":
        return _imagenet(constructor, chosen, shape, timeout)
    model = constructor(include_top=False, weights=None, input_shape=shape)
    if weights != "none":
        _load_local(model, chosen, Path(weights))
    return model


def _imagenet(constructor: Any, chosen: Backbone, shape: tuple[int, int, int], timeout: float) -> Any:
    try:
        with download_guard(timeout):
            return constructor(include_top=False, weights="imagenet", input_shape=shape)
    except Exception as exc:
        if not _download_failure(exc):
            raise
        found = FETCH_FAILURE.match(str(exc))
        where, reason = (f" from {found['url']}", found["reason"]) if found else ("", str(exc))
        raise ModelError(
            f"hybrid-cnn: the ImageNet weights of {chosen.name} could not be downloaded{where} ({reason}); "
            f"fetch that file on a connected machine into {_keras_cache()} (the Keras cache), "
            "or pass --weights PATH to a local .weights.h5/.h5 file, or --weights none"
        ) from exc


def _load_local(model: Any, chosen: Backbone, path: Path) -> None:
    if not path.is_file():
        raise ModelError(f"hybrid-cnn: weights {str(path)!r} is neither imagenet, none nor an existing file")
    if not path.name.endswith(LOCAL_SUFFIXES):
        raise ModelError(f"hybrid-cnn: weights file {path} should end in {', '.join(LOCAL_SUFFIXES)}")
    try:
        model.load_weights(str(path))
    except Exception as exc:
        raise ModelError(
            f"hybrid-cnn: {path} does not hold weights of a {chosen.name} backbone without its top "
            f"at this input size ({first_line(exc)})"
        ) from exc
    log.info("loaded %s backbone weights from %s", chosen.name, path)
