"""RO-Crate (``ro-crate-metadata.json``): files with checksums, and the build as a CreateAction.

The crate follows RO-Crate 1.3 (the version the ``rocrate`` package writes). It
is validated with ``rocrate-validator`` offline: the validator's HTTP cache is
seeded with the JSON-LD context that the ``rocrate`` package ships, so nothing
is fetched from the network.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from fairmicro.builders import sparql_cache
from fairmicro.builders.card_sources import SourceFacts
from fairmicro.builders.columns import (
    build_lab_columns,
    dataset_columns,
    metadata_columns,
    unit_label,
)
from fairmicro.builders.deps import require
from fairmicro.builders.info import BuildInfo, Creator, spdx_url
from fairmicro.errors import DatasetBuildError
from fairmicro.hashing import sha256_file

log = logging.getLogger(__name__)

METADATA_FILE = "ro-crate-metadata.json"
SCHEMA_BASE = "https://w3id.org/fairmicro/schema/"
FAIRMICRO_URL = "https://w3id.org/fairmicro"
MEDIA_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".md": "text/markdown",
    ".png": "image/png",
    ".json": "application/ld+json",
}
DESCRIPTIONS = {
    ".parquet": "Parquet shard of the dataset (Hugging Face layout).",
    ".md": "Dataset card: description, class histogram, coverage, build command, citation.",
    ".png": "Sample tiles, one row per class.",
    ".json": "Croissant (MLCommons) description of the record set.",
}


def crate_version() -> str:
    """The RO-Crate version the installed ``rocrate`` package writes."""
    return require("rocrate.model.metadata").DEFAULT_VERSION


def _ref(entity_id: str) -> dict[str, str]:
    return {"@id": entity_id}


def _one_or_many(refs: list[dict[str, str]]) -> dict[str, str] | list[dict[str, str]]:
    """RO-Crate 1.3 prefers a single value to a one-element list."""
    return refs[0] if len(refs) == 1 else refs


def file_entity(folder: Path, relative: str) -> dict[str, Any]:
    """A ``File`` data entity with size, sha256 and media type."""
    path = folder / relative
    suffix = path.suffix.lower()
    return {
        "@id": relative,
        "@type": "File",
        "name": path.name,
        "description": DESCRIPTIONS.get(suffix, "Dataset file."),
        "encodingFormat": MEDIA_TYPES.get(suffix, "application/octet-stream"),
        "contentSize": str(path.stat().st_size),
        "sha256": sha256_file(path),
    }


def crate_variables() -> list[dict[str, Any]]:
    """One ``PropertyValue`` per metadata column, derived from the schema."""
    slots = {column.name: source for source, column in metadata_columns()}
    variables = []
    for column in dataset_columns():
        entity: dict[str, Any] = {
            "@id": f"#column-{column.name}",
            "@type": "PropertyValue",
            "name": column.name,
            "description": column.description,
        }
        if column.name in slots and column not in build_lab_columns():  # lab columns are no schema slots
            entity["propertyID"] = SCHEMA_BASE + slots[column.name]
        if unit_label(column):
            entity["unitText"] = unit_label(column)
        variables.append(entity)
    return variables


def _person(creator: Creator) -> dict[str, Any]:
    person: dict[str, Any] = {"@id": creator.ref, "@type": "Person", "name": creator.name}
    if creator.orcid:  # the ORCID record is how to reach a creator the catalog knows no e-mail of
        person["contactPoint"] = _ref(_contact_ref(creator))
    return person


def _contact_ref(creator: Creator) -> str:
    return "#contact-" + creator.ref.rsplit("/", 1)[-1].lstrip("#")


def _contacts(creators: list[Creator]) -> list[dict[str, Any]]:
    """A ``ContactPoint`` per creator with an ORCID iD (its ORCID record)."""
    return [
        {
            "@id": _contact_ref(c),
            "@type": "ContactPoint",
            "name": f"Contact for {c.name}",
            "description": "The creator's ORCID record.",
            "contactType": "creator",
            "url": c.orcid,
        }
        for c in creators
        if c.orcid
    ]


def _action(info: BuildInfo, ended: datetime) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "@id": f"#parameter-{key}",
            "@type": "PropertyValue",
            "name": key,
            "value": value if isinstance(value, (str, int, float, bool)) else json.dumps(value, sort_keys=True),
        }
        for key, value in sorted(info.settings.items())
    ]
    selection = {
        "@id": "#selection",
        "@type": "CreativeWork",
        "name": "Catalog selection",
        "description": f"Images of the fairmicro catalog view image_metadata where {info.where}",
        "text": info.where,
    }
    action = {
        "@id": f"#build-{info.fingerprint[:16]}",
        "@type": "CreateAction",
        "name": f"fairmicro build {info.name}",
        "description": info.command,
        "instrument": _ref("#fairmicro"),
        "object": [_ref("#selection")] + [_ref(p["@id"]) for p in parameters],
        "result": _ref("./"),
        "endTime": ended.isoformat(timespec="seconds"),
    }
    if info.creators:
        action["agent"] = _ref(info.creators[0].ref)
    software = {
        "@id": "#fairmicro",
        "@type": "SoftwareApplication",
        "name": "fairmicro",
        "version": info.version,
        "url": FAIRMICRO_URL,
    }
    return [action, software, selection, *parameters]


def _build_time() -> datetime:
    """Now, or ``$SOURCE_DATE_EPOCH`` (reproducible builds; set by a build of a pinned catalog snapshot)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)


def crate_metadata(folder: Path, info: BuildInfo, files: list[str]) -> dict[str, Any]:
    """The crate's JSON-LD for the files already written in ``folder``."""
    version = crate_version()
    ended = _build_time()
    action = _action(info, ended)
    variables = crate_variables()
    root: dict[str, Any] = {
        "@id": "./",
        "@type": "Dataset",
        "name": info.name,
        "description": info.description,
        "license": _ref(spdx_url(info.license)),
        "datePublished": info.built_on.isoformat(),
        "keywords": ", ".join(info.keywords),
        "identifier": _ref("#fingerprint"),
        "hasPart": _one_or_many([_ref(f) for f in files]),
        "mentions": _ref(action[0]["@id"]),
        "variableMeasured": [_ref(v["@id"]) for v in variables],
    }
    if info.creators:
        root["creator"] = _one_or_many([_ref(c.ref) for c in info.creators])
        root["publisher"] = _ref(info.creators[0].ref)
    sources = source_entities(info)
    root.update(root_source_fields(info))
    acquisitions = [_ref(e["@id"]) for e in sources if e["@type"] == "CreateAction"]
    root["mentions"] = _one_or_many([root["mentions"], *acquisitions])  # the build first, then the acquisitions
    licence = {
        "@id": spdx_url(info.license),
        "@type": "CreativeWork",
        "name": info.license,
        "description": f"SPDX licence {info.license}",
        "identifier": info.license,
    }
    identifier = {
        "@id": "#fingerprint",
        "@type": "PropertyValue",
        "name": "fairmicro dataset fingerprint",
        "propertyID": f"{FAIRMICRO_URL}/fingerprint",
        "value": info.fingerprint,
    }
    graph = [
        {
            "@id": METADATA_FILE,
            "@type": "CreativeWork",
            "conformsTo": _ref(f"https://w3id.org/ro/crate/{version}"),
            "about": _ref("./"),
        },
        root,
        licence,
        identifier,
        *(_person(c) for c in info.creators),
        *_contacts(info.creators),
        *(file_entity(folder, f) for f in files),
        *action,
        *variables,
        *sources,
    ]
    return {"@context": f"https://w3id.org/ro/crate/{version}/context", "@graph": graph}


def write_crate(folder: Path, info: BuildInfo, files: list[str]) -> Path:
    """Write ``ro-crate-metadata.json`` describing ``files`` (paths relative to ``folder``)."""
    path = folder / METADATA_FILE
    metadata = crate_metadata(folder, info, files)
    path.write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _seed_context_cache(cache_path: Path, version: str) -> None:
    """Store the ``rocrate`` package's JSON-LD context as the validator's cached response."""
    requests = require("requests")
    urllib3 = require("urllib3")
    session = require("requests_cache").CachedSession(
        cache_name=str(cache_path), backend="sqlite", expire_after=-1, allowable_codes=(200,)
    )
    url = f"https://w3id.org/ro/crate/{version}/context"
    body = (resources.files("rocrate") / "data" / "ro-crate.jsonld").read_bytes()
    context = json.loads(body)
    if context.get("@id") != url:
        raise DatasetBuildError(f"the rocrate package ships context {context.get('@id')}, not {url}")
    headers = {"Content-Type": "application/ld+json"}
    response = requests.Response()
    response.status_code, response._content, response.url = 200, body, url
    response.headers.update(headers)
    response.raw = urllib3.HTTPResponse(
        body=io.BytesIO(body), headers=headers, status=200, preload_content=False, request_url=url
    )
    response.request = requests.Request("GET", url, headers={"Accept": "application/ld+json"}).prepare()
    session.cache.save_response(response)
    session.close()


def check_crate(folder: Path) -> tuple[list[str], list[str]]:
    """Validate ``folder`` once at RECOMMENDED: (REQUIRED problems, RECOMMENDED advice)."""
    issues = _issues(folder, "RECOMMENDED")
    problems = [text for severity, text in issues if severity == "REQUIRED"]
    return problems, [text for severity, text in issues if severity != "REQUIRED"]


def validate_crate(folder: Path, severity: str = "REQUIRED") -> list[str]:
    """Run ``rocrate-validator`` offline on ``folder``; returns the issues found at ``severity``."""
    return [text for _, text in _issues(folder, severity)]


def _issues(folder: Path, severity: str) -> list[tuple[str, str]]:
    """(severity name, text) of every issue ``rocrate-validator`` finds offline at ``severity`` or above."""
    services = require("rocrate_validator.services")
    sparql_cache.install()
    version = crate_version()
    with tempfile.TemporaryDirectory(prefix="fairmicro-rocrate-") as tmp:
        cache = Path(tmp) / "http_cache"
        _seed_context_cache(cache, version)
        settings = services.ValidationSettings(
            rocrate_uri=str(folder),
            offline=True,
            cache_path=cache,
            profile_identifier=f"ro-crate-{version}",
            requirement_severity=severity,
        )
        with contextlib.redirect_stdout(io.StringIO()):
            result = services.validate(settings)
    return [
        (issue.severity.name, f"{issue.check.identifier if issue.check else '?'}: {issue.message}")
        for issue in result.get_issues()
    ]


def root_source_fields(info: BuildInfo) -> dict[str, Any]:
    """The root's ``temporalCoverage`` (acquisition period) and ``mentions`` of the acquisitions."""
    fields: dict[str, Any] = {}
    dates = info.sources.date_range()
    if dates:
        fields["temporalCoverage"] = f"{dates[0]}/{dates[1]}"
    return fields


def source_entities(info: BuildInfo) -> list[dict[str, Any]]:
    """Instruments, one acquisition (``CreateAction``) per instrument, and every source image.

    Source images are contextual entities (they are not in the crate) named by
    their sha256, with file name, media type, size, acquisition time and label.
    """
    facts: SourceFacts = info.sources
    entities: list[dict[str, Any]] = []
    for instrument, count in facts.instruments():
        images = [i for i in facts.images if i.instrument == instrument]
        entities.append(_instrument(instrument, count))
        entities.append(_acquisition(instrument, images, facts.instrument_dates(instrument)))
        entities += [_source_image(image) for image in images]
    return entities


def _instrument(instrument: Any, count: int) -> dict[str, Any]:
    entity = {
        "@id": instrument.ref,
        "@type": "IndividualProduct",
        "name": instrument.name,
        "description": f"Microscope that acquired {count} of the source images, as their vendor metadata names it.",
    }
    for key, value in (
        ("manufacturer", instrument.vendor),
        ("model", instrument.model),
        ("serialNumber", instrument.serial),
    ):
        if value:
            entity[key] = value
    return entity


def _acquisition(instrument: Any, images: list[Any], dates: tuple[str, str] | None) -> dict[str, Any]:
    action: dict[str, Any] = {
        "@id": f"{instrument.ref}-acquisition",
        "@type": "CreateAction",
        "name": f"Image acquisition on {instrument.name}",
        "description": f"{len(images)} source image(s) acquired on {instrument.name}.",
        "instrument": _ref(instrument.ref),
        "result": _one_or_many([_ref(_image_ref(i.sha256)) for i in images]),
    }
    if dates:
        action["startTime"], action["endTime"] = dates
    return action


def _image_ref(sha256: str) -> str:
    return f"#source-image-{sha256}"


def _source_image(image: Any) -> dict[str, Any]:
    label = f"label {image.label!r}" + (f" ({image.label_source})" if image.label_source else "")
    entity: dict[str, Any] = {
        "@id": _image_ref(image.sha256),
        "@type": "ImageObject",
        "name": image.name,
        "description": f"Source image on {image.instrument.name}, {label}, in split {image.split}.",
        "sha256": image.sha256,
        "identifier": f"sha256:{image.sha256}",
        "encodingFormat": image.media_type,
    }
    if image.size_bytes is not None:
        entity["contentSize"] = str(image.size_bytes)
    if image.acquired_at:
        entity["dateCreated"] = image.acquired_at
    return entity
