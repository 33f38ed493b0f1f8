"""`fairmicro publish` commands (registered on the app by `register`).

No ``from __future__ import annotations`` here: typer reads the command's
annotations, which refer to ``CatalogOption`` imported inside ``register``.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from fairmicro.api.pipeline import PublishResult


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`; heavy imports stay inside the commands."""
    from fairmicro.cli.commands import stderr, stdout
    from fairmicro.cli.options import CatalogOption, DataPathOption, WaitOption

    @app.command()
    def publish(
        folder: Annotated[Path, typer.Argument(help="Dataset folder written by `fairmicro build`.")],
        repo: Annotated[str, typer.Option("--repo", help="Hub dataset repository ORG/NAME (created if missing).")],
        tag: Annotated[str | None, typer.Option("--tag", help="Tag the published revision, e.g. v1.0.")] = None,
        private: Annotated[bool, typer.Option("--private", help="Create the repository private.")] = False,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="List what would be uploaded; change nothing.")
        ] = False,
        catalog: CatalogOption = None,
        data_path: DataPathOption = None,
        json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")] = False,
        wait: WaitOption = None,
    ) -> None:
        """Upload a built dataset to the Hugging Face Hub in one commit, tag it, record it.

        The token comes from HF_TOKEN or `hf auth login`; HF_ENDPOINT selects the Hub.
        """
        from fairmicro.api.pipeline import publish as run_publish

        if not stderr.is_terminal:
            _quiet_upload_progress()
        result = run_publish(folder, repo, tag=tag, private=private, dry_run=dry_run, catalog=catalog)
        if json_output:
            stdout.out(json.dumps(result_dict(result), ensure_ascii=False), highlight=False)
        else:
            render(result, stdout)


def _quiet_upload_progress() -> None:
    """No huggingface_hub progress bars when stderr is not a terminal (logs, CI)."""
    try:
        from huggingface_hub.utils import disable_progress_bars
    except ImportError:
        return  # publish itself reports the missing extra
    disable_progress_bars()


def result_dict(result: "PublishResult") -> dict[str, object]:
    """The result as plain JSON-able values."""
    return {
        "repo_id": result.repo_id,
        "url": result.url,
        "endpoint": result.endpoint,
        "revision_sha": result.revision_sha,
        "tag": result.tag,
        "committed": result.committed,
        "dry_run": result.dry_run,
        "dataset_id": result.dataset.dataset_id,
        "fingerprint": result.dataset.fingerprint,
        "publication_id": result.publication_id,
        "changes": [{"path": c.path, "action": c.action, "size": c.size} for c in result.changes],
    }


def render(result: "PublishResult", console: "Console") -> None:
    """Print the repo URL and commit sha (or, for a dry run, the file list)."""
    name = result.dataset.name or result.dataset.dataset_id
    uploads = result.uploads
    if result.dry_run:
        console.print(f"dry run: {name} -> {result.repo_id} on {result.endpoint}", highlight=False)
        for change in result.changes:
            size = "" if change.size is None else f"{change.size:>12,d} B"
            console.print(f"  {change.action:<9} {change.path:<50} {size}", highlight=False)
        console.print(
            f"{len(uploads)} to upload or delete, {len(result.changes) - len(uploads)} unchanged"
            + (f"; would tag {result.tag}" if result.tag else ""),
            highlight=False,
        )
        return
    what = f"new commit, {len(uploads)} file(s) changed" if result.committed else "unchanged, nothing uploaded"
    console.print(f"published {name} to {result.repo_id} ({what})", highlight=False)
    console.print(f"url     {result.url}", highlight=False)
    console.print(f"commit  {result.revision_sha}", highlight=False)
    if result.tag:
        console.print(f"tag     {result.tag}", highlight=False)
