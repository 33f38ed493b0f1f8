"""The SPARQL translation cache used during crate validation gives rdflib's own answers."""

from __future__ import annotations

import subprocess
import sys

import pytest

rdflib = pytest.importorskip("rdflib")

PROBE = r"""
import json, sys
import rdflib
from rdflib import Literal, Namespace, URIRef
if sys.argv[1] == "cached":
    from fairmicro.builders import sparql_cache
    sparql_cache.install()
    sparql_cache.install()  # idempotent
EX = Namespace("http://example.org/")
graph = rdflib.Graph()
graph.bind("ex", EX)
for i in range(6):
    graph.add((EX[f"a{i}"], EX.size, Literal(i)))
    graph.add((EX[f"a{i}"], EX.name, Literal(f"n{i % 3}")))
answers = []
select = "SELECT ?s WHERE { ?s ex:size ?v . FILTER(?v > ?min) } ORDER BY ?s"
for low in (0, 2, 4, 2):  # the same text with other bindings, and again
    answers.append([str(r.s) for r in graph.query(select, initBindings={"min": Literal(low)})])
ask = "ASK { ?s ex:name ?n }"
answers.append(bool(graph.query(ask, initBindings={"n": Literal("n1")})))
answers.append(bool(graph.query(ask, initBindings={"n": Literal("zz")})))
# the same text under another prefix map means something else
other = {"ex": URIRef("http://other.org/")}
answers.append(len(list(graph.query("SELECT ?s WHERE { ?s ex:size ?v }", initNs=other))))
answers.append(len(list(graph.query("SELECT ?s WHERE { ?s ex:size ?v }"))))
answers.append(len(list(graph.query("SELECT ?s WHERE { ?s <size> ?v }", base="http://example.org/"))))
answers.append(len(list(graph.query("SELECT ?s WHERE { ?s <size> ?v }", base="http://other.org/"))))
print(json.dumps(answers))
"""


def _answers(mode: str) -> list:
    import json

    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_cached_translation_answers_as_rdflib_does():
    plain, cached = _answers("plain"), _answers("cached")
    assert cached == plain
    assert plain[0] != plain[1] and plain[1] == plain[3]  # bindings matter, and the probe would see a stale answer
    assert plain[-4:] == [0, 6, 6, 0]  # prefixes and base matter too
