"""Without the `[hf]` extra, publishing and resolving fail with one line naming the extra.

`train` names its own extra (`[models]`, which includes `[hf]`): one install gives it everything it needs.
"""

from __future__ import annotations

import sys

import pytest

from fairmicro.builders.publish import publish
from fairmicro.builders.resolve import resolve_dataset
from fairmicro.errors import MissingExtraError


@pytest.mark.parametrize(
    ("absent", "call", "command", "extra"),
    [
        ("huggingface_hub", lambda build, catalog: publish(build.folder, "my-lab/x", catalog=catalog), "publish", "hf"),
        ("huggingface_hub", lambda build, catalog: resolve_dataset("my-lab/x", catalog=catalog), "train", "models"),
        ("datasets", lambda build, catalog: resolve_dataset(str(build.folder), catalog=catalog), "train", "models"),
    ],
)
def test_missing_extra_names_it(make_build, catalog_path, monkeypatch, absent, call, command, extra):
    build = make_build()
    for name in [m for m in sys.modules if m == absent or m.startswith(absent + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, absent, None)  # makes `import absent` raise ImportError
    with pytest.raises(MissingExtraError) as caught:
        call(build, catalog_path)
    message = str(caught.value)
    assert f"'{absent}'" in message and f"pip install 'fairmicro[{extra}]'" in message and command in message
