"""One helper chooses a partial or a full page for htmx requests and says so in Vary."""
import json

from flask import make_response, redirect, render_template

from .extensions import htmx


def render(full: str, partial: str | None = None, status: int = 200, trigger: dict | None = None, **context):
    """Render the partial for an htmx request (not a history restore), else the full page."""
    use_partial = partial is not None and bool(htmx) and not htmx.history_restore_request
    response = make_response(render_template(partial if use_partial else full, **context), status)
    response.vary.add("HX-Request")
    if trigger and use_partial:
        response.headers["HX-Trigger"] = json.dumps(trigger)
    return response


def see_other(url: str):
    """After a successful POST: a 303 for a plain form, a full navigation for an htmx one."""
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)
