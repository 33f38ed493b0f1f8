"""`fairmicro serve` pages through Starlette's TestClient: browse, image page, query, review, datasets, runs."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

pytest.importorskip("starlette")
pytest.importorskip("jinja2")

SHA = re.compile(r'/images/([0-9a-f]{64})"')


def _rows(web_lab, sql):
    import fairmicro as fm

    with fm.Catalog.open(web_lab / "catalog.duckdb", read_only=True) as cat:
        result = cat.query(sql)
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_browse_shows_every_image_once_across_keyset_pages(client, web_lab, monkeypatch):
    from fairmicro.web import browse

    monkeypatch.setattr(browse, "PAGE_SIZE", 5)
    seen, url = [], "/"
    while url:
        page = client.get(url)
        assert page.status_code == 200
        seen += SHA.findall(page.text)
        found = re.search(r'id="next" class="button" href="([^"]+)"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert len(seen) == len(set(seen)) == _rows(web_lab, "SELECT count(*) AS n FROM images")[0]["n"]


def test_facets_filter_by_value_range_and_dataset(client, web_lab):
    expected = _rows(web_lab, "SELECT sha256 FROM image_metadata WHERE vendor = 'Zeiss' AND label = 'martensite'")
    page = client.get("/", params={"vendor": "Zeiss", "label": "martensite"})
    assert sorted(SHA.findall(page.text)) == sorted(r["sha256"] for r in expected) and expected
    in_dataset = _rows(web_lab, "SELECT DISTINCT image_sha256 FROM dataset_images WHERE split = 'test'")
    [dataset] = _rows(web_lab, "SELECT dataset_id FROM datasets")
    page = client.get("/", params={"dataset": dataset["dataset_id"], "split": "test"})
    assert sorted(SHA.findall(page.text)) == sorted(r["image_sha256"] for r in in_dataset)
    volts = _rows(web_lab, "SELECT min(accelerating_voltage_kv) AS lo FROM image_metadata")[0]["lo"]
    page = client.get("/", params={"voltage_max": str(volts)})
    assert set(SHA.findall(page.text)) == {
        r["sha256"]
        for r in _rows(web_lab, f"SELECT sha256 FROM image_metadata WHERE accelerating_voltage_kv <= {volts}")
    }
    assert client.get("/", params={"voltage_min": "abc"}).status_code == 400
    assert client.get("/", params={"after": "%%%"}).status_code == 400


def test_facet_values_are_bound_not_spliced(client, web_lab):
    page = client.get("/", params={"vendor": "x' OR '1'='1", "label": "'); DROP TABLE images; --"})
    assert page.status_code == 200 and SHA.findall(page.text) == []
    assert _rows(web_lab, "SELECT count(*) AS n FROM images")[0]["n"] > 0


def test_thumbnail_is_made_once_cached_by_sha_and_revalidated_with_etag(client, web_lab):
    sha = _rows(web_lab, "SELECT sha256 FROM images ORDER BY path LIMIT 1")[0]["sha256"]
    first = client.get(f"/thumbs/{sha}.jpg")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert first.content[:3] == b"\xff\xd8\xff" and "max-age" in first.headers["cache-control"]
    cached = web_lab / "catalog.duckdb.web" / "thumbs" / sha[:2] / f"{sha}.jpg"
    assert cached.is_file()
    again = client.get(f"/thumbs/{sha}.jpg", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_image_page_has_scale_bar_trail_specimen_masks_and_provenance(client, web_lab):
    [row] = _rows(
        web_lab,
        "SELECT a.image_sha256 AS sha, i.specimen_id FROM annotations a JOIN images i "
        "ON i.sha256 = a.image_sha256 WHERE a.annotation_kind = 'mask' LIMIT 1",
    )
    page = client.get(f"/images/{row['sha']}")
    assert page.status_code == 200
    assert 'id="scalebar"' in page.text and 'id="mask-manual"' in page.text
    trail = _rows(web_lab, f"SELECT source_key, raw_value FROM field_sources WHERE image_sha256 = '{row['sha']}'")
    assert trail and all(t["source_key"] in page.text for t in trail)
    assert row["specimen_id"] in page.text and 'id="specimen"' in page.text
    [member] = _rows(web_lab, "SELECT image_sha256 FROM dataset_images LIMIT 1")
    assert 'id="datasets"' in client.get(f"/images/{member['image_sha256']}").text
    [predicted] = _rows(web_lab, "SELECT image_sha256, model_run_id FROM predictions LIMIT 1")
    page = client.get(f"/images/{predicted['image_sha256']}")
    assert 'id="predictions"' in page.text and f"/runs/{predicted['model_run_id']}" in page.text
    mask = client.get(f"/images/{row['sha']}/mask-manual.png")
    assert mask.status_code == 200 and mask.content[:4] == b"\x89PNG"
    full = client.get(f"/images/{row['sha']}/full.png")
    assert full.status_code == 200 and full.content[:4] == b"\x89PNG"


def test_query_page_runs_read_only_sql_and_downloads_csv_and_json(client, web_lab):
    sql = "SELECT label, count(*) AS n FROM image_metadata GROUP BY label ORDER BY label NULLS LAST"
    expected = _rows(web_lab, sql)
    page = client.get("/query", params={"sql": sql})
    assert page.status_code == 200 and 'id="result"' in page.text
    as_csv = list(csv.DictReader(io.StringIO(client.get("/query.csv", params={"sql": sql}).text)))
    assert [(r["label"] or None, int(r["n"])) for r in as_csv] == [(r["label"], r["n"]) for r in expected]
    as_json = client.get("/query.json", params={"sql": sql})
    assert json.loads(as_json.text) == expected
    assert "attachment" in as_json.headers["content-disposition"]


def test_review_queue_lists_suggestions_with_probabilities(client, web_lab):
    queued = _rows(web_lab, "SELECT image_sha256 FROM annotations WHERE annotation_kind = 'review'")
    page = client.get("/review")
    assert page.status_code == 200 and queued
    assert all(q["image_sha256"][:12] in page.text for q in queued)
    assert 'class="prob"' in page.text


def test_datasets_and_runs_pages(client, web_lab):
    [dataset] = _rows(web_lab, "SELECT dataset_id, name FROM datasets")
    [run] = _rows(web_lab, "SELECT run_id FROM model_runs WHERE run_kind = 'train'")
    assert dataset["dataset_id"] in client.get("/datasets").text
    page = client.get(f"/datasets/{dataset['dataset_id']}")
    assert page.status_code == 200 and 'id="card"' in page.text
    pictures = re.findall(r'src="(/datasets/[^"]+/files/[^"]+)"', page.text)
    assert pictures and all(client.get(p).status_code == 200 for p in pictures)
    page = client.get(f"/runs/{run['run_id']}")
    assert page.status_code == 200 and 'id="parameters"' in page.text and 'id="dataset-link"' in page.text
    plots = re.findall(r'src="(/runs/[^"]+/artifacts/\d+)"', page.text)
    assert plots and all(client.get(p).content[:4] == b"\x89PNG" for p in plots)
    assert client.get("/runs/nope").status_code == 404
