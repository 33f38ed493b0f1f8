"""`fairmicro serve` is safe by default: token and CSRF on writes, loopback Host, capped and sniffed uploads,
no file outside the catalog's reachable from a URL, no write through the query page. Effects are checked."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from fairmicro.web.app import create_app

TOKEN = "correct-horse-battery-staple"


def _csrf(client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/review").text).group(1)


def _label(web_lab, sha):
    import fairmicro as fm

    with fm.Catalog.open(web_lab / "catalog.duckdb", read_only=True) as cat:
        return tuple(cat.query("SELECT label, label_source FROM images WHERE sha256 = ?", [sha]).rows[0])


def _queued(web_lab):
    from fairmicro.models.labelling import pending_reviews

    return pending_reviews(web_lab / "catalog.duckdb").rows


def test_confirm_stores_a_manual_label_exactly_as_fairmicro_review(client, web_lab):
    sha, _, suggested, *_ = _queued(web_lab)[0]
    page = client.post(
        "/review", data={"csrf": _csrf(client), "sha256": sha, "action": "confirm"}, follow_redirects=False
    )
    assert page.status_code == 303
    assert _label(web_lab, sha) == (suggested, "manual")
    assert sha not in [row[0] for row in _queued(web_lab)]


def test_correction_outside_the_class_map_is_refused_and_changes_nothing(client, web_lab):
    sha = _queued(web_lab)[0][0]
    before = _label(web_lab, sha)
    page = client.post("/review", data={"csrf": _csrf(client), "sha256": sha, "label": "bainite"})
    assert page.status_code == 400 and "not a class" in page.text
    assert _label(web_lab, sha) == before


@pytest.mark.parametrize("headers", [{}, {"Origin": "http://evil.example"}])
def test_writes_without_csrf_or_from_another_site_are_refused(client, web_lab, headers):
    sha = _queued(web_lab)[0][0]
    before = _label(web_lab, sha)
    data = {"sha256": sha, "action": "confirm"}
    if headers:
        data["csrf"] = _csrf(client)
    assert client.post("/review", data=data, headers=headers).status_code == 403
    assert _label(web_lab, sha) == before


def test_other_host_binding_needs_a_token_for_every_write(web_lab):
    from fairmicro.errors import FairmicroError

    with pytest.raises(FairmicroError, match="--token"):
        create_app(web_lab / "catalog.duckdb", host="0.0.0.0")
    app = create_app(web_lab / "catalog.duckdb", host="0.0.0.0", token=TOKEN)
    sha = _queued(web_lab)[0][0]
    before = _label(web_lab, sha)
    with TestClient(app, base_url="http://lab-pc.example:8000") as client:
        assert client.get("/").status_code == 200  # reads stay open
        data = {"csrf": _csrf(client), "sha256": sha, "action": "confirm"}
        assert client.post("/review", data=data).status_code == 403
        assert (
            client.post("/review", data=data, headers={"Authorization": "Bearer wrong-token-123456"}).status_code == 403
        )
        assert _label(web_lab, sha) == before
        assert client.get(f"/?token={TOKEN}x").status_code == 403
        login = client.get(f"/?token={TOKEN}", follow_redirects=False)
        assert login.status_code == 303 and "samesite=strict" in login.headers["set-cookie"].lower()
        assert client.post("/review", data=data, follow_redirects=False).status_code == 303
    assert _label(web_lab, sha)[1] == "manual"


def test_cli_refuses_other_host_without_token_before_listening(cli, catalog_path):
    result = cli("serve", "--host", "0.0.0.0", check=False)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1 and "--token" in result.stderr
    assert not catalog_path.exists()


def test_loopback_server_refuses_foreign_host_headers(client):
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/thumbs/../../../../etc/passwd",
        "/thumbs/..%2f..%2f..%2fetc%2fpasswd.jpg",
        "/images/..%2fcatalog.duckdb",
        "/images/%2e%2e/%2e%2e/etc/passwd/full.png",
        "/static/../app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e/%2e%2e/%2e%2e/catalog/sandbox.py",
        "/thumbs/" + "0" * 64 + ".jpg",
    ],
)
def test_no_url_reaches_a_file_by_path(client, url):
    page = client.get(url)
    assert page.status_code in (400, 404) and b"root:" not in page.content and b"import" not in page.content


def test_dataset_pictures_stay_inside_the_dataset_folder(client, web_lab):
    import fairmicro as fm

    with fm.Catalog.open(web_lab / "catalog.duckdb", read_only=True) as cat:
        dataset_id = cat.query("SELECT dataset_id FROM datasets").rows[0][0]
    (web_lab / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\nsecret")
    for name in (
        "../secret.png",
        "..%2fsecret.png",
        "%2e%2e/secret.png",
        str(web_lab / "secret.png"),
        "../catalog.duckdb",
        "README.md",
    ):
        page = client.get(f"/datasets/{dataset_id}/files/{name}")
        assert page.status_code == 404 and b"secret" not in page.content, name


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM images",
        "UPDATE images SET label = 'x'",
        "DROP TABLE images",
        "CREATE TABLE t AS SELECT 1",
        "COPY images TO '{out}'",
        "SELECT * FROM read_csv('{out}')",
        "ATTACH '{out}' AS other",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "SELECT 1; DELETE FROM images",
    ],
)
def test_query_page_refuses_writes_files_and_settings(client, web_lab, sql):
    out = web_lab / "leak.csv"
    text = sql.format(out=out)
    before = client.get("/query.json", params={"sql": "SELECT count(*) AS n, count(label) AS l FROM images"}).json()
    page = client.get("/query", params={"sql": text})
    assert page.status_code == 400 and 'id="error"' in page.text
    assert client.get("/query.csv", params={"sql": text}).status_code == 400
    assert not out.exists()
    after = client.get("/query.json", params={"sql": "SELECT count(*) AS n, count(label) AS l FROM images"}).json()
    assert after == before


def test_uploads_are_capped_and_sniffed(client, web_lab):
    csrf = _csrf(client)
    images = client.get("/query.json", params={"sql": "SELECT count(*) AS n FROM images"}).json()
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (50 * 1024 * 1024)
    page = client.post("/qualify", data={"csrf": csrf}, files={"file": ("ok.png", big, "image/png")})
    assert page.status_code == 413
    page = client.post(
        "/qualify", data={"csrf": csrf}, files={"file": ("scan.png", b"#!/bin/sh\nrm -rf /\n" * 20, "image/png")}
    )
    assert page.status_code == 415
    assert client.get("/query.json", params={"sql": "SELECT count(*) AS n FROM images"}).json() == images
    uploads = web_lab / "catalog.duckdb.web" / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
