"""Assessment sets as data: one YAML file per set, validated by the schema (``AssessmentSet``).

A file names the set and lists its assessments; each has a criterion, positive
and negative text prompts (CLIP) and positive and negative reference images
(FLAVA), each side a catalog selection (``where``, SQL over ``image_metadata``,
run sandboxed) and/or files (``paths``, relative to the YAML file's folder)::

    name: my-lab
    assessments:
      - name: porosity
        criterion: No pores larger than 50 um.
        positive_prompts: [a dense coating without black pores]
        negative_prompts: [a coating with many black pores]
        positive_references: {where: "label = 'porosity-accept'"}
        negative_references: {paths: [refs/porous-1.png, refs/porous-2.png]}

Built-in sets ship with fairmicro (``--assessments ni-wc``). Every problem is
one line naming the file and the key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from fairmicro.errors import ModelError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

PACKAGE = "fairmicro.models.qualifier"
FOLDER = "assessments"


@dataclass(frozen=True)
class References:
    """One side's reference images: a catalog predicate and/or resolved file paths."""

    where: str | None
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class Assessment:
    """One expert assessment, checked."""

    name: str
    criterion: str
    positive_prompts: tuple[str, ...]
    negative_prompts: tuple[str, ...]
    positive_references: References
    negative_references: References


@dataclass(frozen=True)
class AssessmentSet:
    """A validated assessment file."""

    source: str
    name: str
    description: str
    assessments: tuple[Assessment, ...]
    sha256: str


def builtin_sets() -> dict[str, str]:
    """Built-in set name (``ni-wc``) -> packaged file name (``ni_wc.yaml``)."""
    folder = resources.files(PACKAGE) / FOLDER
    return {
        f.name.removesuffix(".yaml").replace("_", "-"): f.name for f in folder.iterdir() if f.name.endswith(".yaml")
    }


def load_assessments(reference: str | Path) -> AssessmentSet:
    """Read and validate an assessment file, or a built-in set by name.

    Raises
    ------
    ModelError
        One line naming the file and the key: unreadable file, bad YAML, unknown key, empty
        prompt list, a side without references, a reference file that does not exist.
    """
    text, source, folder = _read(reference)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ModelError(f"{source}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{source}: expected a mapping with 'name' and 'assessments', got {type(data).__name__}")
    validated = _validate(data, source)
    assessments = tuple(_checked(a, i, source, folder) for i, a in enumerate(validated.assessments))
    _no_duplicates(assessments, source)
    return AssessmentSet(
        source,
        validated.name,
        validated.description or "",
        assessments,
        hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _read(reference: str | Path) -> tuple[str, str, Path]:
    path = Path(reference).expanduser()
    if not path.exists() and isinstance(reference, str) and reference in builtin_sets():
        packaged = resources.files(PACKAGE) / FOLDER / builtin_sets()[reference]
        return packaged.read_text(encoding="utf-8"), reference, Path(str(packaged)).parent
    if not path.is_file():
        known = ", ".join(sorted(builtin_sets()))
        raise ModelError(f"--assessments {reference}: no such file, and not a built-in set ({known})")
    try:
        return path.read_text(encoding="utf-8"), str(path), path.resolve().parent
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the assessment file ({exc})") from None


def _validate(data: dict[str, Any], source: str) -> Any:
    import pydantic

    from fairmicro.schema import models

    try:
        return models.AssessmentSet(**data)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        key = _key(error.get("loc", ()), data)
        raise ModelError(f"{source}: {key}: {_message(error)}") from None
    except TypeError as exc:  # keys that are not strings
        raise ModelError(f"{source}: {exc}") from None


def _key(loc: tuple[Any, ...], data: Any) -> str:
    """``assessments[1] (porosity).positive_prompts`` from a pydantic location."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and isinstance(node[part], dict) else None
            parts[-1] += f"[{part}]" + (f" ({name})" if isinstance(name, str) else "")
        else:
            parts.append(str(part))
        node = node[part] if isinstance(node, (dict, list)) and _has(node, part) else None
    return ".".join(parts) or "top level"


def _has(node: dict[str, Any] | list[Any], part: Any) -> bool:
    return part in node if isinstance(node, dict) else isinstance(part, int) and 0 <= part < len(node)


def _message(error: ErrorDetails) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return (
            "unknown key (allowed: name, description, assessments; per assessment: name, criterion, "
            "positive_prompts, negative_prompts, positive_references, negative_references; per side: where, paths)"
        )
    if kind == "missing":
        return "missing (required)"
    if kind == "too_short":
        return "empty list (give at least one entry)"
    return str(error.get("msg", "invalid"))


def _checked(raw: Any, index: int, source: str, folder: Path) -> Assessment:
    label = f"{source}: assessments[{index}] ({raw.name})"
    if not raw.name.strip():
        raise ModelError(f"{source}: assessments[{index}].name: empty")
    for side in ("positive_prompts", "negative_prompts"):
        if any(not prompt.strip() for prompt in getattr(raw, side)):
            raise ModelError(f"{label}.{side}: an empty prompt")
    return Assessment(
        raw.name.strip(),
        (raw.criterion or "").strip(),
        tuple(p.strip() for p in raw.positive_prompts),
        tuple(p.strip() for p in raw.negative_prompts),
        _references(raw.positive_references, f"{label}.positive_references", folder),
        _references(raw.negative_references, f"{label}.negative_references", folder),
    )


def _references(raw: Any, label: str, folder: Path) -> References:
    where = (raw.where or "").strip() or None
    paths = tuple(_reference_path(p, f"{label}.paths", folder) for p in raw.paths or ())
    if where is None and not paths:
        raise ModelError(f"{label}: no reference images; give 'where' (a catalog selection) and/or 'paths'")
    return References(where, paths)


def _reference_path(text: str, label: str, folder: Path) -> Path:
    path = Path(text).expanduser()
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        raise ModelError(f"{label}: reference image {text} does not exist ({path})")
    return path


def _no_duplicates(assessments: tuple[Assessment, ...], source: str) -> None:
    seen: set[str] = set()
    for assessment in assessments:
        if assessment.name in seen:
            raise ModelError(f"{source}: assessments: the name {assessment.name!r} is used twice")
        seen.add(assessment.name)
