"""`fairmicro serve` in a real browser: Playwright driving Debian's chromium (no browser download).

Walks the pages a technician uses (browse and filter, an image page, a query, confirming a label,
qualifying an uploaded image with tiny offline models) against a uvicorn server on a generated
catalog, checks what each page shows and what each action stored, and saves a screenshot of
every page to docs/screenshots/ (named in README.md).
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() or shutil.which("chromium") is None, reason="Debian chromium absent"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright absent")
pytest.importorskip("transformers")
pytest.importorskip("torch")

ASSESSMENTS = """\
name: demo-set
description: Is the microstructure hardened?
assessments:
  - name: hardened
    criterion: A martensitic, hardened microstructure.
    positive_prompts: [martensite laths, a hardened steel]
    negative_prompts: [spheroidised carbides, a soft annealed steel]
    positive_references: {where: "label = 'martensite'"}
    negative_references: {where: "label = 'spheroidite'"}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(web_lab, tmp_path):
    """The base URL of `fairmicro serve`'s app under uvicorn, with tiny CLIP/FLAVA models."""
    import uvicorn

    from fairmicro.models.qualifier.tiny import build_tiny_clip, build_tiny_flava
    from fairmicro.web.app import create_app

    clip, flava = build_tiny_clip(tmp_path / "clip"), build_tiny_flava(tmp_path / "flava")
    (web_lab / "ea.yaml").write_text(ASSESSMENTS, encoding="utf-8")
    app = create_app(
        web_lab / "catalog.duckdb", clip=str(clip), flava=str(flava), assessments={"demo": str(web_lab / "ea.yaml")}
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.set_default_timeout(60_000)
        yield tab
        browser.close()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _catalog_rows(web_lab, sql):
    import fairmicro as fm

    with fm.Catalog.open(web_lab / "catalog.duckdb", read_only=True) as cat:
        return cat.query(sql).rows


def _loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_browse_filter_open_image_query_and_datasets(page, server, web_lab):
    page.goto(server + "/")
    total = int(page.text_content("#count").split()[0])
    assert total == _catalog_rows(web_lab, "SELECT count(*) FROM images")[0][0]
    page.wait_for_function("[...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth)")
    _shot(page, "browse")
    page.select_option("#facet-label", "martensite")
    page.wait_for_url(re.compile(r"label=martensite"))
    expected = _catalog_rows(web_lab, "SELECT count(*) FROM images WHERE label = 'martensite'")[0][0]
    assert int(page.text_content("#count").split()[0]) == expected == page.locator("#grid .card").count()
    _shot(page, "browse-filtered")

    masked = _catalog_rows(
        web_lab, "SELECT image_sha256 FROM annotations WHERE annotation_kind = 'mask' ORDER BY image_sha256 LIMIT 1"
    )[0][0]
    page.goto(f"{server}/images/{masked}")
    page.wait_for_function("document.getElementById('picture').complete")
    assert _loaded(page, "#picture") and _loaded(page, "#mask-manual")
    assert page.is_visible("#scalebar") and page.locator("#fields tr").count() > 20
    _shot(page, "image")

    page.goto(server + "/query")
    page.fill("#sql", "SELECT label, count(*) AS images FROM image_metadata GROUP BY label ORDER BY label")
    page.click("#run")
    page.wait_for_selector("#result")
    assert page.locator("#result tbody tr").count() == len(_catalog_rows(web_lab, "SELECT DISTINCT label FROM images"))
    with page.expect_download() as download:
        page.click("#csv")
    assert download.value.suggested_filename == "query.csv"
    _shot(page, "query")
    page.fill("#sql", "DELETE FROM images")
    page.click("#run")
    assert "refused" in page.text_content("#error")
    assert _catalog_rows(web_lab, "SELECT count(*) FROM images")[0][0] == total

    page.goto(server + "/datasets")
    page.click("#datasets a")
    page.wait_for_selector("#card")
    _shot(page, "dataset")
    page.goto(server + "/runs")
    page.click("#runs a")
    page.wait_for_selector("#parameters")
    _shot(page, "run")


def test_confirm_a_label_in_the_review_queue(page, server, web_lab):
    page.goto(server + "/review")
    first = page.locator("#queue tbody tr").first
    sha_prefix = first.get_attribute("id").removeprefix("row-")
    suggested = first.locator("td").nth(2).locator("b").text_content()
    page.wait_for_function("[...document.querySelectorAll('#queue img')].every(i => i.complete && i.naturalWidth)")
    _shot(page, "review")
    first.locator("button.confirm").click()
    page.wait_for_selector("#done")
    assert page.locator(f"#row-{sha_prefix}").count() == 0
    stored = _catalog_rows(web_lab, f"SELECT label, label_source FROM images WHERE sha256 LIKE '{sha_prefix}%'")
    assert stored == [(suggested, "manual")]


def test_qualify_an_uploaded_image_with_tiny_models(page, server, web_lab, tmp_path):
    from fairmicro.testing.samples import write_png

    upload = write_png(tmp_path / "new scan #1.png", (np.random.default_rng(3).random((48, 48)) * 255).astype(np.uint8))
    page.goto(server + "/qualify")
    page.set_input_files("#file", str(upload))
    page.check("input[name=set][value=demo]")
    page.check("#weighted")
    page.fill("input[name=weight_clip]", "0.6")
    page.fill("input[name=weight_flava]", "0.4")
    page.click("#qualify")
    page.wait_for_selector("#scores", timeout=120_000)
    page.wait_for_function("document.getElementById('qualified').complete")
    decision = page.text_content("#scores .decision").strip()
    assert decision in ("accept", "reject")
    assert page.locator(".nearest tbody tr").count() >= 1 and "martensite laths" in page.text_content(".prompts")
    _shot(page, "qualify")
    rows = _catalog_rows(
        web_lab,
        "SELECT q.decision, q.hybrid, r.parameters FROM qualifications q "
        "JOIN model_runs r ON r.run_id = q.model_run_id",
    )
    assert len(rows) == 1 and rows[0][0] == decision and '"weighted"' in rows[0][2]
