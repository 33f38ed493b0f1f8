"""Kill `fairmicro publish` at five points of a push: nothing half-recorded, the Hub holds whole commits, a rerun completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fairmicro.catalog import Catalog
from tests.publish.conftest import REPO

API = r"/api/datasets/my-lab/hcci-tiles"
# Before the upload, during it, as the commit arrives (the Hub makes it, the answer is lost),
# before the tag, and at a random moment.
KILL_POINTS = [
    ("POST", rf"{API}/preupload/main"),
    ("PUT", r"/lfs-objects/[0-9a-f]{64}"),
    ("POST", rf"{API}/commit/main"),
    ("POST", rf"{API}/tag/[^/]+"),  # a tag names the pushed revision (a sha once the commit exists)
    None,
]


def _publications(catalog_path: Path) -> list[tuple]:
    with Catalog.open(catalog_path, read_only=True) as catalog:
        return catalog.query("SELECT revision_sha, tag FROM publications ORDER BY published_at").rows


def _head_files(hub) -> set[str]:
    with hub.storage.lock:
        repo = hub.storage.repos.get(("dataset", REPO))  # None until the repo is created
        return set(repo.head_files("main")[1]) if repo else set()


def _folder_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_publish_killed_at_five_points_records_only_whole_pushes_and_a_rerun_completes(
    hub, hub_env, make_build, catalog_path, tmp_path
):
    build = make_build()
    wanted = _folder_files(build.folder)
    env = {**os.environ, "FAIRMICRO_CATALOG": str(catalog_path)}
    command = [sys.executable, "-m", "fairmicro", "publish", str(build.folder), "--repo", REPO, "--tag", "v1.0"]
    killed = 0
    for point in KILL_POINTS:
        holder: list[subprocess.Popen[str]] = []
        if point is not None:
            hub.before_once(*point, lambda holder=holder: holder[0].send_signal(signal.SIGKILL))
        holder.append(
            subprocess.Popen(
                command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
            )
        )
        if point is None:
            time.sleep(1.5)
            holder[0].send_signal(signal.SIGKILL)
        killed += holder[0].wait(timeout=300) == -signal.SIGKILL
        hub.failures.clear()  # a kill point this run never reached must not fire later

        files = _head_files(hub)
        assert not (files & wanted) or wanted <= files, "the Hub holds half a dataset"
        commits = hub.branch_commits(REPO) if files else []
        for revision, _tag in _publications(catalog_path):
            assert revision in commits, "a publication was recorded for a revision the Hub does not have"

    assert killed >= 4  # the four request points were reached and interrupted
    rerun = subprocess.run(command, check=False, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert wanted <= _head_files(hub)
    head = hub.branch_commits(REPO)[0]
    assert [tag for revision, tag in _publications(catalog_path) if tag == "v1.0"] == ["v1.0"]
    assert (head, "v1.0") in _publications(catalog_path)
    assert len(hub.branch_commits(REPO)) <= 2  # the repo's first commit and one data commit: no duplicate push
