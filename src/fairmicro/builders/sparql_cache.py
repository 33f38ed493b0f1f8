"""Parse each SPARQL query once while RO-Crate crates are validated.

``rocrate-validator`` runs its SHACL profiles through pyshacl, which hands rdflib
the same SPARQL text once per focus node; rdflib parses it again every time.
Parsing (pyparsing) was about two thirds of a 45 s validation at RECOMMENDED.
:func:`install` makes rdflib's ``SPARQLProcessor.query`` reuse the translated
query for identical text, base and namespaces. A translated query is what
rdflib's own ``prepareQuery`` returns for reuse with other bindings, so the
results are the same; only the parsing is skipped.
"""

from __future__ import annotations

import functools
from typing import Any

_CACHE_SIZE = 2048


def install() -> None:
    """Memoise SPARQL translation in rdflib's query processor (idempotent, process-wide)."""
    from rdflib.plugins.sparql import processor

    query = processor.SPARQLProcessor.query
    if getattr(query, "_fairmicro_cached", False):
        return
    translate = functools.lru_cache(maxsize=_CACHE_SIZE)(_translate)

    def cached_query(
        self: Any, text: Any, bindings: Any = None, namespaces: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        base = args[0] if args else kwargs.get("base")
        key = _namespaces_key(namespaces)
        if isinstance(text, str) and key is not None and (base is None or isinstance(base, str)):
            text = translate(text, base, key)
        return query(self, text, bindings, namespaces, *args, **kwargs)

    cached_query._fairmicro_cached = True  # type: ignore[attr-defined]
    processor.SPARQLProcessor.query = cached_query  # type: ignore[method-assign,assignment]


def _translate(text: str, base: str | None, namespaces: tuple[tuple[str, str], ...]) -> Any:
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    return translateQuery(parseQuery(text), base, dict(namespaces) if namespaces else None)


def _namespaces_key(namespaces: Any) -> tuple[tuple[str, str], ...] | None:
    """A hashable form of ``initNs`` (``()`` for none), or None when it cannot be one."""
    if not namespaces:
        return ()
    try:
        key = tuple(sorted((str(prefix), str(uri)) for prefix, uri in dict(namespaces).items()))
    except (TypeError, ValueError):
        return None
    return key
