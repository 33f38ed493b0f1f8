"""`fairmicro query` joins publications to images: which published datasets contain this image."""

from __future__ import annotations

from fairmicro.builders.publish import publish
from tests.publish.conftest import REPO

WHICH_PUBLISHED = """
SELECT p.repo_id, p.tag, p.revision_sha, i.label, di.split
FROM images i
JOIN dataset_images di ON di.image_sha256 = i.sha256
JOIN publications p ON p.dataset_id = di.dataset_id
WHERE i.path LIKE '%{name}'
ORDER BY p.published_at
"""


def test_which_published_datasets_contain_this_image(hub, hub_env, make_build, cli, catalog_path):
    first = make_build(seed=0)
    v1 = publish(first.folder, REPO, tag="v1.0", catalog=catalog_path)
    second = make_build(seed=1, folder=first.folder.with_name("v2"))
    v2 = publish(second.folder, "my-lab/other-tiles", tag="v2.0", catalog=catalog_path)
    make_build(seed=2, folder=first.folder.with_name("never-published"))

    only_first = cli.rows(WHICH_PUBLISHED.format(name="s0_00.png"))
    assert only_first == [
        {"repo_id": REPO, "tag": "v1.0", "revision_sha": v1.revision_sha, "label": "ferrite", "split": "train"}
    ]
    only_second = cli.rows(WHICH_PUBLISHED.format(name="s1_02.png"))
    assert [(r["repo_id"], r["revision_sha"], r["split"]) for r in only_second] == [
        ("my-lab/other-tiles", v2.revision_sha, "test")
    ]
    assert cli.rows(WHICH_PUBLISHED.format(name="s2_00.png")) == []
