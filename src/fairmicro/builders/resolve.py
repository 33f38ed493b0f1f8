"""The one dataset resolver every model plugin uses.

A dataset reference is one of:

- a local folder written by ``fairmicro build`` (``README.md`` + ``data/``);
- the ``name`` of a build in the catalog (its folder, or, when that folder is
  gone, its newest publication on the Hub);
- a Hub dataset id ``ORG/NAME[@REV]`` (or ``hf://datasets/ORG/NAME[@REV]``).

Every kind is read the same way: a Hub revision is first downloaded into the
huggingface_hub cache (``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and ``HF_HOME`` are
read when the resolver runs), then the folder's card ``configs`` are loaded
with ``datasets``. The provenance names exactly what was read: repo id and
revision sha, or the build fingerprint.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fairmicro.builders.deps import require
from fairmicro.builders.hub import (
    REPO_ID,
    HubSettings,
    content_digest,
    hub_error,
    hub_failures,
    local_files,
    redacted,
)
from fairmicro.builders.publish import find_build
from fairmicro.catalog.connection import resolve_catalog_path
from fairmicro.catalog.store import Catalog
from fairmicro.errors import DatasetNotFoundError, HubUnreachableError

logger = logging.getLogger(__name__)

COMMAND = "fairmicro train"
HUB_REF = re.compile(rf"(?:hf://datasets/)?(?P<repo>{REPO_ID.pattern})(?:@(?P<rev>[^\s@]+))?")


@dataclass(frozen=True)
class DatasetProvenance:
    """Exactly which data a run read.

    Attributes
    ----------
    ref
        The reference as given.
    source
        ``"hub"``, ``"folder"`` or ``"catalog"``.
    repo_id, revision, revision_sha, endpoint
        For Hub data: the repo, the revision asked for, the commit it named, and the endpoint.
    fingerprint
        The build fingerprint from the catalog; for a folder the catalog does
        not know, ``"sha256:<hex>"`` over its files.
    path
        The local folder the rows were read from.
    """

    ref: str
    source: str
    path: str
    repo_id: str | None = None
    revision: str | None = None
    revision_sha: str | None = None
    endpoint: str | None = None
    fingerprint: str | None = None

    @property
    def dataset_revision(self) -> str | None:
        """What ``model_runs.dataset_revision`` records: the Hub sha, else the fingerprint."""
        return self.revision_sha or self.fingerprint


@dataclass(frozen=True)
class ResolvedDataset:
    """A ``datasets.DatasetDict`` and its provenance."""

    dataset: Any
    provenance: DatasetProvenance


def resolve_dataset(
    ref: str | Path,
    *,
    catalog: str | Path | Catalog | None = None,
    cache_dir: str | Path | None = None,
) -> ResolvedDataset:
    """Load the dataset ``ref`` names, trying a folder, a catalog name, then a Hub id.

    Parameters
    ----------
    ref
        Local folder, catalog dataset name, or ``ORG/NAME[@REV]``.
    catalog
        Catalog to look names and fingerprints up in (default: the usual
        ``--catalog`` rules); a missing catalog file is skipped, never created.
    cache_dir
        ``datasets`` cache for the Arrow files (default: ``HF_DATASETS_CACHE``).

    Raises
    ------
    DatasetNotFoundError
        Nothing matched, the Hub has no such repo or revision, or
        ``HF_HUB_OFFLINE`` is set and the revision is not in the local cache.
    HubUnreachableError
        The Hub could not be reached and the revision is not cached.
    """
    text = str(ref)
    folder = Path(text).expanduser().resolve()
    # The catalog is only read here and closed before any data is loaded.
    with _open_catalog(catalog) as cat:
        known = _fingerprint_of(cat, folder) if folder.is_dir() else None
        build = None if folder.is_dir() or cat is None else _catalog_build(cat, text)
    if folder.is_dir():
        return _from_folder(text, folder, known, cache_dir)
    if build is not None:
        return _from_build(text, build, cache_dir)
    match = HUB_REF.fullmatch(text)
    if match:
        return _from_hub(text, match["repo"], match["rev"], cache_dir)
    raise DatasetNotFoundError(
        f"dataset {text!r} is not a folder, a dataset name in the catalog, or a Hub id ORG/NAME[@REV]; "
        'list catalog builds with `fairmicro query "SELECT name FROM datasets"`'
    )


class _open_catalog:
    """The catalog as a read-only context, or None when there is none to read."""

    def __init__(self, catalog: str | Path | Catalog | None) -> None:
        self.given = catalog if isinstance(catalog, Catalog) else None
        path = None if self.given else resolve_catalog_path(catalog)  # type: ignore[arg-type]
        self.opened = Catalog.open(path, read_only=True) if path and path.is_file() else None

    def __enter__(self) -> Catalog | None:
        return self.given or self.opened

    def __exit__(self, *exc: object) -> None:
        if self.opened:
            self.opened.close()


@dataclass(frozen=True)
class _CatalogBuild:
    fingerprint: str | None
    output_path: str | None
    publication: tuple[str, str, str] | None  # repo_id, revision_sha, endpoint of the newest one


def _catalog_build(catalog: Catalog, name: str) -> _CatalogBuild | None:
    build = catalog.newest_build(name)
    if build is None:
        return None
    dataset_id, fingerprint, output_path = build
    return _CatalogBuild(fingerprint, output_path, catalog.newest_publication(dataset_id))


def _fingerprint_of(catalog: Catalog | None, folder: Path) -> str | None:
    if catalog is None:
        return None
    try:
        return find_build(catalog, folder).fingerprint
    except DatasetNotFoundError:
        return None


def _from_folder(ref: str, folder: Path, fingerprint: str | None, cache_dir: str | Path | None) -> ResolvedDataset:
    # A folder the catalog knows is named by its build fingerprint; only an unknown one is hashed.
    fingerprint = fingerprint or content_digest(local_files(folder))
    provenance = DatasetProvenance(ref, "folder", str(folder), fingerprint=fingerprint)
    return ResolvedDataset(load_folder(folder, cache_dir, key=fingerprint), provenance)


def _from_build(ref: str, build: _CatalogBuild, cache_dir: str | Path | None) -> ResolvedDataset:
    folder = Path(build.output_path).expanduser() if build.output_path else None
    if folder is not None and folder.is_dir():
        provenance = DatasetProvenance(ref, "catalog", str(folder.resolve()), fingerprint=build.fingerprint)
        return ResolvedDataset(load_folder(folder, cache_dir, key=build.fingerprint), provenance)
    if build.publication is None:
        raise DatasetNotFoundError(
            f"catalog dataset {ref!r} was written to {build.output_path}, which is gone, and was never "
            "published; rebuild it with `fairmicro build`"
        )
    repo_id, revision_sha, endpoint = build.publication
    logger.info(
        "%s: folder %s is gone; reading its publication %s@%s",
        ref,
        build.output_path,
        repo_id,
        revision_sha,
    )
    resolved = _from_hub(ref, repo_id, revision_sha, cache_dir, endpoint=endpoint)
    provenance = replace(resolved.provenance, source="catalog", fingerprint=build.fingerprint)
    return ResolvedDataset(resolved.dataset, provenance)


def _from_hub(
    ref: str,
    repo_id: str,
    revision: str | None,
    cache_dir: str | Path | None,
    endpoint: str | None = None,
) -> ResolvedDataset:
    settings = HubSettings.from_env(COMMAND)
    endpoint = endpoint or settings.endpoint
    with redacted():  # a Hub error may echo the token: never in messages, tracebacks or logs
        folder = download(repo_id, revision, settings, endpoint)
    provenance = DatasetProvenance(
        ref,
        "hub",
        str(folder),
        repo_id=repo_id,
        revision=revision or "main",
        revision_sha=folder.name,
        endpoint=endpoint,
    )
    return ResolvedDataset(load_folder(folder, cache_dir, key=folder.name), provenance)


def download(repo_id: str, revision: str | None, settings: HubSettings, endpoint: str) -> Path:
    """The cached snapshot folder of ``repo_id@revision`` (downloaded unless offline).

    The folder is named by the commit sha, as huggingface_hub names snapshots.
    """
    hub = require("huggingface_hub", COMMAND)
    errors = require("huggingface_hub.errors", COMMAND)
    where = f"{repo_id}@{revision or 'main'}"
    try:
        path = hub.snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=revision,
            endpoint=endpoint,
            cache_dir=str(settings.cache_dir),
            local_files_only=settings.offline,
        )
    except (errors.RepositoryNotFoundError, errors.RevisionNotFoundError) as exc:
        missing = "revision" if isinstance(exc, errors.RevisionNotFoundError) else "dataset repo"
        raise DatasetNotFoundError(f"{where}: no such {missing} on {endpoint} (or the token cannot see it)") from exc
    except errors.LocalEntryNotFoundError as exc:
        if settings.offline:
            raise DatasetNotFoundError(
                f"{where}: HF_HUB_OFFLINE is set and this revision is not in the cache {settings.cache_dir}; "
                "unset HF_HUB_OFFLINE once to download it"
            ) from exc
        raise HubUnreachableError(
            f"{where}: cannot reach {endpoint} and the revision is not cached; check the network or HF_ENDPOINT"
        ) from exc
    except hub_failures(COMMAND) as exc:
        raise hub_error(exc, step=f"downloading {where}", endpoint=endpoint, repo_id=repo_id) from exc
    return Path(path)


def load_folder(folder: Path, cache_dir: str | Path | None = None, key: str | None = None) -> Any:
    """Load a built dataset folder (its card's ``configs``) as a ``datasets.DatasetDict``.

    Parameters
    ----------
    folder
        A folder written by ``fairmicro build`` (or a Hub snapshot of one).
    cache_dir
        ``datasets`` cache for the Arrow files (default: ``HF_DATASETS_CACHE``).
    key
        What names the folder's content: a Hub revision sha or a build
        fingerprint. When ``None`` the folder's files are hashed instead.
    """
    datasets = require("datasets", COMMAND)
    if not (folder / "README.md").is_file():
        raise DatasetNotFoundError(f"{folder}: not a built dataset folder (no README.md); run `fairmicro build`")
    # `datasets` keys its Arrow cache on the folder's name and file layout, so two builds
    # in folders of the same name can collide and the second silently returns the first's
    # rows. A cache folder per content key makes a stale hit impossible.
    key = key or content_digest(local_files(folder))
    name = hashlib.sha256(key.encode()).hexdigest()[:24]
    base = Path(cache_dir) if cache_dir else Path(datasets.config.HF_DATASETS_CACHE)
    with _bars_on_terminal_only(datasets):
        return datasets.load_dataset(str(folder), cache_dir=str(base / "fairmicro" / name))


@contextlib.contextmanager
def _bars_on_terminal_only(datasets: Any) -> Iterator[None]:
    """``datasets``' progress bars ("Generating train split") only when stderr is a terminal, not in logs."""
    stream = sys.stderr
    if datasets.are_progress_bars_disabled() or (stream is not None and stream.isatty()):
        yield
        return
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.enable_progress_bars()
