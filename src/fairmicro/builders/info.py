"""What the card, the RO-Crate and the Croissant file say about a build.

One :class:`BuildInfo` is filled by the builder and read by the three writers,
so names, licence, creators and counts are stated once.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fairmicro.builders.card_sources import SourceFacts
from fairmicro.errors import DatasetBuildError, first_line

ORCID_URL = "https://orcid.org/"
_ORCID = re.compile(r"(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_CREATOR = re.compile(r"^\s*(?P<name>[^<>]+?)\s*(?:<(?P<id>[^<>]+)>)?\s*$")
DEFAULT_KEYWORDS = ("microscopy", "materials science", "micrographs", "fairmicro")


def _orcid_checksum_ok(digits: str) -> bool:
    """ISO 7064 11,2 check digit of an ORCID iD."""
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


@dataclass(frozen=True)
class Creator:
    """A dataset creator, with an ORCID iD when known."""

    name: str
    orcid: str | None = None  # full https://orcid.org/... URL

    @classmethod
    def parse(cls, text: str) -> Creator:
        """``"Jane Doe <0000-0002-1825-0097>"`` (or an orcid.org URL, or just a name).

        Raises
        ------
        DatasetBuildError
            If the text is empty or the ORCID iD is malformed or fails its check digit.
        """
        match = _CREATOR.match(text)
        if not match or not match.group("name").strip() or any(ord(c) < 32 for c in text):
            raise DatasetBuildError(f"--creator {text!r}: expected 'Name <ORCID iD>' or 'Name'")
        ident = match.group("id")
        if ident is None:
            return cls(match.group("name"))
        orcid = _ORCID.match(ident.strip())
        if not orcid or not _orcid_checksum_ok(orcid.group(1).replace("-", "")):
            raise DatasetBuildError(f"--creator {text!r}: {ident!r} is not a valid ORCID iD (e.g. 0000-0002-1825-0097)")
        return cls(match.group("name"), ORCID_URL + orcid.group(1))

    @property
    def ref(self) -> str:
        """JSON-LD id: the ORCID URL, else a local fragment from the name."""
        return self.orcid or "#" + re.sub(r"[^0-9A-Za-z]+", "-", self.name).strip("-").lower()


CREATOR_ENV = "FAIRMICRO_CREATOR"
CONFIG_ENV = "FAIRMICRO_CONFIG"


def config_path() -> Path:
    """The user config file: ``$FAIRMICRO_CONFIG``, else ``$XDG_CONFIG_HOME`` (``~/.config``)/fairmicro/config.toml."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fairmicro" / "config.toml"


def _config_creators(path: Path) -> list[str]:
    if not path.is_file():
        return []
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DatasetBuildError(f"{path}: cannot be read as TOML ({first_line(exc)})") from exc
    value = (config.get("build") or {}).get("creator")
    if value is None:
        return []
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise DatasetBuildError(f"{path}: [build] creator must be a string or a list of strings")
    return values


def _git_user() -> list[str]:
    try:
        done = subprocess.run(
            ["git", "config", "--get", "user.name"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    name = done.stdout.strip()
    return [name] if done.returncode == 0 and name else []


def _parse_all(texts: Iterable[str], source: str) -> tuple[Creator, ...]:
    try:
        return tuple(Creator.parse(t) for t in texts)
    except DatasetBuildError as exc:
        raise DatasetBuildError(f"{source}: {exc}") from exc


def default_creators() -> tuple[tuple[Creator, ...], str]:
    """Creators to name when ``--creator`` is not given, and a note saying where they came from.

    Looked up in order: ``$FAIRMICRO_CREATOR`` (one ``Name <ORCID iD>``; several
    separated by ``;``), ``[build] creator`` in :func:`config_path`, then
    ``git config user.name``. The note is a warning either way: the creator came
    from configuration, or the dataset names no author.

    Raises
    ------
    DatasetBuildError
        If a configured creator is malformed (e.g. a bad ORCID iD) or the config file is not TOML.
    """
    env = os.environ.get(CREATOR_ENV, "").strip()
    path = config_path()
    sources = (
        (f"${CREATOR_ENV}", [p for p in env.split(";") if p.strip()]),
        (f"{path} [build] creator", _config_creators(path)),
    )
    for source, texts in sources:
        if texts:
            creators = _parse_all(texts, source)
            return creators, f"no --creator given; naming {_names(creators)} from {source}"
    git = _git_user()
    if git:
        creators = _parse_all(git, "git config user.name")
        return creators, f"no --creator given; naming {_names(creators)} from git config user.name"
    return (), (
        "no --creator given and none configured: the card, RO-Crate, Croissant and citation name no "
        f"author; pass --creator 'Name <ORCID iD>' or set ${CREATOR_ENV} (see docs/build.md)"
    )


def _names(creators: Iterable[Creator]) -> str:
    return ", ".join(repr(c.name) for c in creators)


def local_roots(*extra: Path) -> list[str]:
    """Local folder prefixes that must not appear in a published file, longest first.

    The home folder, the working folder, the temporary folder and ``extra``
    (e.g. the output's parent), each as given and resolved.
    """
    roots: set[str] = set()
    for path in (Path.home(), Path.cwd(), Path(tempfile.gettempdir()), *extra):
        for variant in (path.absolute(), path.resolve()):
            text = str(variant).rstrip("/\\")
            if len(text) > 1:
                roots.add(text)
    return sorted(roots, key=len, reverse=True)


def redact_local(text: str, roots: Iterable[str]) -> str:
    """``text`` with local folder prefixes and this machine's name replaced by ``<local>``."""
    for root in roots:
        text = re.sub(re.escape(root) + r"(?=[/\\\s'\"`;,)]|$)", "<local>", text)
    host = socket.gethostname().split(".")[0]
    if len(host) >= 4:
        text = re.sub(rf"\b{re.escape(host)}\b", "<local>", text)
    return text


# SPDX id (as license-expression normalises it) -> the Hub's licence id, where the Hub lists one.
# Anything else is ``license: other`` with a ``license_name`` on the Hub.
_HUB_LICENSES = {
    "Apache-2.0": "apache-2.0",
    "MIT": "mit",
    "AFL-3.0": "afl-3.0",
    "Artistic-2.0": "artistic-2.0",
    "BSL-1.0": "bsl-1.0",
    "BSD-2-Clause": "bsd-2-clause",
    "BSD-3-Clause": "bsd-3-clause",
    "BSD-3-Clause-Clear": "bsd-3-clause-clear",
    "C-UDA-1.0": "c-uda",
    "CC0-1.0": "cc0-1.0",
    "CC-BY-2.0": "cc-by-2.0",
    "CC-BY-2.5": "cc-by-2.5",
    "CC-BY-3.0": "cc-by-3.0",
    "CC-BY-4.0": "cc-by-4.0",
    "CC-BY-SA-3.0": "cc-by-sa-3.0",
    "CC-BY-SA-4.0": "cc-by-sa-4.0",
    "CC-BY-NC-2.0": "cc-by-nc-2.0",
    "CC-BY-NC-3.0": "cc-by-nc-3.0",
    "CC-BY-NC-4.0": "cc-by-nc-4.0",
    "CC-BY-ND-4.0": "cc-by-nd-4.0",
    "CC-BY-NC-ND-3.0": "cc-by-nc-nd-3.0",
    "CC-BY-NC-ND-4.0": "cc-by-nc-nd-4.0",
    "CC-BY-NC-SA-2.0": "cc-by-nc-sa-2.0",
    "CC-BY-NC-SA-3.0": "cc-by-nc-sa-3.0",
    "CC-BY-NC-SA-4.0": "cc-by-nc-sa-4.0",
    "CDLA-Sharing-1.0": "cdla-sharing-1.0",
    "CDLA-Permissive-1.0": "cdla-permissive-1.0",
    "CDLA-Permissive-2.0": "cdla-permissive-2.0",
    "WTFPL": "wtfpl",
    "ECL-2.0": "ecl-2.0",
    "EPL-1.0": "epl-1.0",
    "EPL-2.0": "epl-2.0",
    "etalab-2.0": "etalab-2.0",
    "EUPL-1.1": "eupl-1.1",
    "EUPL-1.2": "eupl-1.2",
    "AGPL-3.0-only": "agpl-3.0",
    "AGPL-3.0-or-later": "agpl-3.0",
    "GPL-2.0-only": "gpl-2.0",
    "GPL-2.0-or-later": "gpl-2.0",
    "GPL-3.0-only": "gpl-3.0",
    "GPL-3.0-or-later": "gpl-3.0",
    "LGPL-2.1-only": "lgpl-2.1",
    "LGPL-2.1-or-later": "lgpl-2.1",
    "LGPL-3.0-only": "lgpl-3.0",
    "LGPL-3.0-or-later": "lgpl-3.0",
    "ISC": "isc",
    "LPPL-1.3c": "lppl-1.3c",
    "MS-PL": "ms-pl",
    "MPL-2.0": "mpl-2.0",
    "ODC-By-1.0": "odc-by",
    "ODbL-1.0": "odbl",
    "OSL-3.0": "osl-3.0",
    "PostgreSQL": "postgresql",
    "OFL-1.1": "ofl-1.1",
    "NCSA": "ncsa",
    "Unlicense": "unlicense",
    "Zlib": "zlib",
    "PDDL-1.0": "pddl",
}
_LICENSE_TEXT = re.compile(r"[A-Za-z0-9.+:() -]{1,200}")
_LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.-]+")
LICENSE_HELP = "e.g. CC-BY-4.0, CC0-1.0, MIT, 'MIT OR Apache-2.0', or LicenseRef-<name> for your own"


def check_license(text: str) -> str:
    """The SPDX licence id or expression ``text`` names, in its canonical spelling.

    Validated against the SPDX licence list that ``license-expression`` ships
    (offline). ``LicenseRef-<name>`` names a licence of your own.

    Raises
    ------
    DatasetBuildError
        If ``text`` is not a known SPDX id or a well-formed expression of known ids.
    """
    stripped = text.strip()
    if _LICENSE_REF.fullmatch(stripped):
        return stripped
    problem = f"--license {text!r}: not an SPDX licence id or expression ({LICENSE_HELP})"
    if not _LICENSE_TEXT.fullmatch(stripped):
        raise DatasetBuildError(problem)
    from license_expression import get_spdx_licensing

    try:
        info = get_spdx_licensing().validate(stripped)
    except Exception as exc:  # the library raises while reporting some malformed expressions
        raise DatasetBuildError(problem) from exc
    if info.errors or not info.normalized_expression:
        unknown = ", ".join(map(str, info.invalid_symbols))
        raise DatasetBuildError(problem + (f"; unknown: {unknown}" if unknown else ""))
    return str(info.normalized_expression)


def is_single_license(spdx: str) -> bool:
    """Whether ``spdx`` is one licence id rather than an expression."""
    return " " not in spdx.strip() and "(" not in spdx


def hub_license(spdx: str) -> dict[str, str]:
    """The card's licence fields: the Hub's own id, else ``other`` with a ``license_name``.

    ``{"license": "cc-by-4.0"}`` for CC-BY-4.0; ``{"license": "other", "license_name":
    "mit-or-apache-2.0", ...}`` for what the Hub does not list.
    """
    known = _HUB_LICENSES.get(spdx.strip())
    if known:
        return {"license": known}
    fields = {"license": "other", "license_name": re.sub(r"[^a-z0-9.]+", "-", spdx.lower()).strip("-")}
    if is_single_license(spdx) and not _LICENSE_REF.fullmatch(spdx):
        fields["license_link"] = spdx_url(spdx)
    return fields


def spdx_url(spdx: str) -> str:
    """The SPDX licence page, used as the licence's identifier in RO-Crate and Croissant.

    An expression of several licences, or a ``LicenseRef-``, has no SPDX page; it
    gets a local identifier (``#license``) that names the expression.
    """
    spdx = spdx.strip()
    if not is_single_license(spdx) or _LICENSE_REF.fullmatch(spdx):
        return "#license"
    return f"https://spdx.org/licenses/{spdx}"


@dataclass
class SplitStats:
    """What one split holds."""

    name: str
    rows: int = 0
    images: int = 0
    num_bytes: int = 0  # Arrow (in-memory) size, as the Hub card states it
    file_bytes: int = 0  # Parquet shards on disk (the card's download_size)
    classes: Counter[str] = field(default_factory=Counter)
    shards: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The split's counts as the catalog and ``fairmicro build --json`` state them.

        ``{"rows": ..., "images": ..., "classes": {label: rows, ...}}``, labels sorted.
        """
        return {
            "rows": self.rows,
            "images": self.images,
            "classes": dict(sorted(self.classes.items())),
        }


@dataclass
class BuildInfo:
    """Everything the card, crate and Croissant writers need."""

    name: str
    description: str
    license: str
    creators: list[Creator]
    keywords: list[str]
    command: str
    where: str
    label_column: str
    class_names: list[str]
    settings: dict[str, object]
    fingerprint: str
    version: str
    built_on: date
    splits: list[SplitStats]
    coverage: dict[str, int]
    citation: str | None = None
    grid_file: str | None = None
    model_input: dict[str, object] = field(default_factory=dict)
    sources: SourceFacts = field(default_factory=SourceFacts)
    grid_caption: str = ""
    url: str | None = None  # the dataset's landing page (e.g. its Hub page), when known at build time

    @property
    def rows(self) -> int:
        """Rows over all splits."""
        return sum(s.rows for s in self.splits)

    @property
    def images(self) -> int:
        """Source images over all splits."""
        return sum(s.images for s in self.splits)

    @property
    def mask_class_map(self) -> list[dict[str, Any]]:
        """A segmentation build's class map ``[{"value", "name", "colour"}, ...]``; empty for other builds."""
        entries = self.settings.get("mask_classes")
        return list(entries) if isinstance(entries, list) else []

    @property
    def shard_files(self) -> list[str]:
        """Relative paths of every Parquet shard."""
        return [path for s in self.splits for path in s.shards]

    def bibtex(self) -> str:
        """The citation: the one given, else a BibTeX ``@misc`` entry for the dataset.

        Title, authors (the creators), year, version (the fingerprint's first
        12 hex digits, which names the exact rows) and the URL when known.
        """
        if self.citation:
            return self.citation
        key = re.sub(r"[^0-9A-Za-z]+", "_", self.name).strip("_") + f"_{self.built_on.year}"
        authors = " and ".join(_bibtex_text(c.name) for c in self.creators) or "{fairmicro}"
        fields = [
            ("title", f"{{{_bibtex_text(self.name)}}}"),
            ("author", f"{{{authors}}}"),
            ("year", f"{{{self.built_on.year}}}"),
            ("version", f"{{{self.fingerprint[:12]}}}"),
            *((("url", f"{{{self.url}}}"),) if self.url else ()),
            ("note", f"{{Dataset fingerprint {self.fingerprint}, built with fairmicro {self.version}}}"),
        ]
        body = ",\n".join(f"  {name} = {value}" for name, value in fields)
        return f"@misc{{{key},\n{body}\n}}"


def _bibtex_text(text: str) -> str:
    """``text`` safe inside a braced BibTeX value (braces and backslashes dropped)."""
    return re.sub(r"[{}\\]", "", text)
