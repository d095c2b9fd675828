"""One helper chooses a partial or a full page for htmx requests and says so in Vary."""
from flask import make_response, render_template

from .extensions import htmx


def render(full: str, partial: str | None = None, status: int = 200, trigger: dict | None = None, **context):
    """Render the partial for an htmx request (not a history restore), else the full page."""
    use_partial = partial is not None and bool(htmx) and not htmx.history_restore_request
    response = make_response(render_template(partial if use_partial else full, **context), status)
    response.vary.add("HX-Request")
    if trigger and use_partial:
        import json
        response.headers["HX-Trigger"] = json.dumps(trigger)
    return response
