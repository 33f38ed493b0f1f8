"""`--data-path` (the shared catalog's data folder) is offered by every command that takes `--catalog`."""

from __future__ import annotations

import pytest


def _commands() -> list[tuple[str, ...]]:
    from typer.main import get_command

    from fairmicro.cli.commands import app

    group = get_command(app)
    found = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        found.extend([(name, sub) for sub in subcommands] if subcommands else [(name,)])
    return found


def _options(path: tuple[str, ...]) -> set[str]:
    from typer.main import get_command

    from fairmicro.cli.commands import app

    command = get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return {opt for param in command.params for opt in getattr(param, "opts", ())}


def test_every_command_with_catalog_takes_data_path() -> None:
    with_catalog = [path for path in _commands() if "--catalog" in _options(path)]
    assert len(with_catalog) >= 12
    assert [path for path in with_catalog if "--data-path" not in _options(path)] == []


@pytest.mark.parametrize("command", [("runs",), ("review",), ("train",), ("catalog", "copy")])
def test_data_path_is_listed_in_help(cli, command: tuple[str, ...]) -> None:
    result = cli(*command, "--help")
    assert any(line.strip().startswith("--data-path DIR") for line in result.stdout.splitlines()), result.stdout


def test_data_path_on_a_catalog_file_changes_nothing(cli, tmp_path) -> None:
    from fairmicro.testing.samples import texture, write_fei_tiff

    (tmp_path / "imgs").mkdir()
    write_fei_tiff(tmp_path / "imgs" / "a.tif", texture((32, 32)))
    cli("ingest", "imgs", "--data-path", str(tmp_path / "lake-data"))
    result = cli("runs", "--data-path", str(tmp_path / "lake-data"), "--json")
    assert result.stdout.strip() == "[]"
    assert cli.rows("SELECT count(*) AS n FROM images") == [{"n": 1}]
    assert not (tmp_path / "lake-data").exists()
