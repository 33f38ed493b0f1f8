"""Example records: every valid/*.yaml validates, every invalid/*.yaml fails.

File names start with the schema class, e.g. ``Specimen-quenched.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import yaml

from fairmicro.schema import models

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def _load(path: Path):
    cls = getattr(models, path.name.split("-", 1)[0])
    return cls, yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted((EXAMPLES / "valid").glob("*.yaml")), ids=lambda p: p.name)
def test_valid_example_validates(path):
    cls, data = _load(path)
    record = cls(**data)
    assert record.model_dump(exclude_none=True).keys() == data.keys()


@pytest.mark.parametrize("path", sorted((EXAMPLES / "invalid").glob("*.yaml")), ids=lambda p: p.name)
def test_invalid_example_fails(path):
    cls, data = _load(path)
    with pytest.raises(pydantic.ValidationError):
        cls(**data)


def test_there_are_examples_of_both_kinds():
    assert len(list((EXAMPLES / "valid").glob("*.yaml"))) >= 4
    assert len(list((EXAMPLES / "invalid").glob("*.yaml"))) >= 4
