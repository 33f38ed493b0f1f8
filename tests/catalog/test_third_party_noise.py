"""A broken file is reported in one line: tifffile's own log line does not repeat it (only with --debug)."""

from __future__ import annotations


def test_a_broken_tiff_is_one_line_without_tifffile_noise(cli, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "trunc.tif").write_bytes(b"II*\0garbage")
    done = cli("ingest", str(tmp_path / "in"), check=False)
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).splitlines()
    assert [line for line in lines if "trunc.tif" in line] == [
        f"  rejected: {tmp_path / 'in' / 'trunc.tif'}: TIFF has no image pages"
    ]
    assert "tifffile" not in done.stderr
    debug = cli("--debug", "ingest", str(tmp_path / "in"), check=False)
    assert "tifffile" in debug.stderr  # the library's detail is still there for a bug report
