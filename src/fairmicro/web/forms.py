"""Form bodies of writes: parsed with limits, and refused without this server's CSRF value."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from fairmicro.web.safety import MAX_UPLOAD_BYTES


async def checked_form(request: Request) -> Any:
    """The request's form (at most one file, 50 fields), refused (403) without the server's CSRF value."""
    try:
        form = await request.form(max_files=1, max_fields=50, max_part_size=MAX_UPLOAD_BYTES)
    except Exception as exc:  # multipart raises several parser errors on malformed bodies
        if exc.__class__.__name__ == "BodyTooLarge":
            raise
        raise HTTPException(400, f"the form could not be read ({exc.__class__.__name__})") from None
    if not request.app.state.guard.csrf_ok(form.get("csrf") if isinstance(form.get("csrf"), str) else None):
        raise HTTPException(403, "refused: the form does not carry this server's CSRF value; reload the page")
    return form
