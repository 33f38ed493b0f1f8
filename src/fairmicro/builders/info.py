"""What the card, the RO-Crate and the Croissant file say about a build.

One :class:`BuildInfo` is filled by the builder and read by the three writers,
so names, licence, creators and counts are stated once.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from fairmicro.errors import DatasetBuildError

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
        if not match or not match.group("name").strip():
            raise DatasetBuildError(f"--creator {text!r}: expected 'Name <ORCID iD>' or 'Name'")
        ident = match.group("id")
        if ident is None:
            return cls(match.group("name"))
        orcid = _ORCID.match(ident.strip())
        if not orcid or not _orcid_checksum_ok(orcid.group(1).replace("-", "")):
            raise DatasetBuildError(
                f"--creator {text!r}: {ident!r} is not a valid ORCID iD (e.g. 0000-0002-1825-0097)"
            )
        return cls(match.group("name"), ORCID_URL + orcid.group(1))

    @property
    def ref(self) -> str:
        """JSON-LD id: the ORCID URL, else a local fragment from the name."""
        return self.orcid or "#" + re.sub(r"[^0-9A-Za-z]+", "-", self.name).strip("-").lower()


def hub_license(spdx: str) -> str:
    """The Hugging Face card licence id for an SPDX id (lower case, as the Hub lists them)."""
    return spdx.strip().lower()


def spdx_url(spdx: str) -> str:
    """The SPDX licence page, used as the licence's identifier in RO-Crate and Croissant."""
    return f"https://spdx.org/licenses/{spdx.strip()}"


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

    @property
    def rows(self) -> int:
        """Rows over all splits."""
        return sum(s.rows for s in self.splits)

    @property
    def images(self) -> int:
        """Source images over all splits."""
        return sum(s.images for s in self.splits)

    @property
    def shard_files(self) -> list[str]:
        """Relative paths of every Parquet shard."""
        return [path for s in self.splits for path in s.shards]

    def bibtex(self) -> str:
        """The citation: the one given, else a BibTeX entry for the dataset."""
        if self.citation:
            return self.citation
        key = re.sub(r"[^0-9A-Za-z]+", "_", self.name).strip("_") + f"_{self.built_on.year}"
        authors = " and ".join(c.name for c in self.creators) or "{fairmicro}"
        return (
            f"@misc{{{key},\n  title = {{{self.name}}},\n  author = {{{authors}}},\n"
            f"  year = {{{self.built_on.year}}},\n  note = {{Dataset fingerprint {self.fingerprint}, "
            f"built with fairmicro {self.version}}}\n}}"
        )
