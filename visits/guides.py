"""Residents help themselves: public guides (/g/), the hands-on mode, khu phố pages (/k/) and "Nhờ Tổ hỗ trợ".

Everything here is open without logging in and sets no cookie, except the help form, whose CSRF token needs the
session cookie. The pages use their own small layout (templates/guides/_public.html), not base.html.
"""
from pathlib import Path

import click
from flask import Blueprint, Response, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .extensions import db, limiter
from .guide_content import GuideLibrary, check_folder
from .help_requests import HelpForm, help_limit, issue_stamp, need_choices, submit_help_request
from .models import KhuPho, KhuPhoContact
from .qr import parse_tag, public_url, qr_png, qr_svg, record_scan

bp = Blueprint("guides", __name__, cli_group="guides")

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_MAX_AGE = 300  # a staff edit reaches every phone within five minutes


@bp.record_once
def _attach_library(state):
    folder = state.app.config.get("GUIDES_DIR") or ROOT / "guides"
    state.app.extensions["guides"] = GuideLibrary(Path(folder), state.app.config.get("GUIDES_RESCAN_SECONDS", 2.0))


def library() -> GuideLibrary:
    return current_app.extensions["guides"]


def guide_or_404(slug: str):
    guide = library().get(slug)
    if guide is None:
        abort(404)
    return guide


def public(response, counted: bool = False):
    """Public pages may be cached, except a scanned URL, which must reach the server to be counted."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-cache" if counted else f"public, max-age={PUBLIC_MAX_AGE}"
    return response


@bp.app_template_global()
def has_guide(slug: str | None) -> bool:
    """Whether a checklist item's guide exists, so the household page links only to pages that open."""
    return bool(slug) and library().get(slug) is not None


@bp.errorhandler(404)
def not_found(_error):
    return render_template("guides/not_found.html"), 404


@bp.get("/g/")
def index():
    """Every guide, with a line on what it helps with."""
    return public(render_template("guides/index.html", guides=library().all()))


@bp.get("/g/<slug>")
def page(slug: str):
    """One guide: what to have ready, the numbered steps, official addresses and hotlines."""
    guide = guide_or_404(slug)
    counted = record_scan(f"g/{slug}", request.args.get("src"))
    return public(render_template("guides/guide.html", guide=guide), counted)


@bp.get("/g/<slug>/cam-tay")
def hands_on(slug: str):
    """One step at a time, full screen, to hold up to the resident; ?buoc=N opens step N (0 = what to prepare).

    ?k=<khu phố id> (the household page adds it) tags the code on the last screen with the member's khu phố.
    """
    guide = guide_or_404(slug)
    last = len(guide.steps) + 1
    current = min(max(request.args.get("buoc", 0, type=int), 0), last)
    source = parse_tag(f"ct-k{request.args.get('k', type=int)}") if request.args.get("k", type=int) else None
    return public(render_template("guides/hands_on.html", guide=guide, current=current, last=last,
                                  tag=source.tag if source else "ct"))


def qr_response(data: str, kind: str) -> Response:
    body, mimetype = (qr_svg(data), "image/svg+xml") if kind == "svg" else (qr_png(data), "image/png")
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def tag_for_print() -> str | None:
    """The ?src= a code should carry: only a tag that parses, so a printed code never carries junk."""
    source = parse_tag(request.args.get("src"))
    return source.tag if source else None


@bp.get("/g/<slug>/qr.<any(svg, png):kind>")
def guide_qr(slug: str, kind: str):
    guide_or_404(slug)
    return qr_response(public_url("guides.page", slug=slug, src=tag_for_print()), kind)


# --- The khu phố page and "Nhờ Tổ hỗ trợ" ----------------------------------------------------------

def khu_pho_or_404(khu_pho_id: int) -> KhuPho:
    place = db.session.get(KhuPho, khu_pho_id)
    if place is None:
        abort(404)
    return place


@bp.get("/k/<int:khu_pho_id>")
def khu_pho(khu_pho_id: int):
    """A khu phố's page: its guides and how to reach its team, with nobody's name or phone on it."""
    place = khu_pho_or_404(khu_pho_id)
    counted = record_scan(f"k/{place.id}", request.args.get("src"))
    contact = db.session.scalar(select(KhuPhoContact).where(KhuPhoContact.khu_pho_id == place.id))
    return public(render_template("guides/khu_pho.html", place=place, contact=contact, guides=library().all()),
                  counted)


@bp.get("/k/<int:khu_pho_id>/qr.<any(svg, png):kind>")
def khu_pho_qr(khu_pho_id: int, kind: str):
    khu_pho_or_404(khu_pho_id)
    return qr_response(public_url("guides.khu_pho", khu_pho_id=khu_pho_id, src=tag_for_print()), kind)


@bp.route("/k/<int:khu_pho_id>/ho-tro", methods=["GET", "POST"])
@limiter.limit(help_limit, methods=["POST"], error_message=_l("Đã gửi quá nhiều yêu cầu. Vui lòng thử lại sau."))
def ask_for_help(khu_pho_id: int):
    """"Nhờ Tổ hỗ trợ": address, phone, what is needed, and consent to the use of the phone number."""
    place = khu_pho_or_404(khu_pho_id)
    form = HelpForm(need_choices(library().all()))
    if request.method == "POST":
        outcome = submit_help_request(form, place)
        if outcome in ("saved", "trap"):  # a bot that filled the hidden field is told it worked, and nothing is kept
            return redirect(url_for("guides.help_sent", khu_pho_id=place.id), 303)
    else:
        form.started.data = issue_stamp(place.id)
    response = make_response(render_template("guides/help_form.html", place=place, form=form),
                             400 if request.method == "POST" else 200)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/k/<int:khu_pho_id>/ho-tro/da-gui")
def help_sent(khu_pho_id: int):
    place = khu_pho_or_404(khu_pho_id)
    return public(render_template("guides/help_sent.html", place=place))


@bp.cli.command("check")
def check_command():
    """Check every guide file and say what is wrong with each (exit status 1 if anything is)."""
    folder = current_app.config.get("GUIDES_DIR") or ROOT / "guides"
    problems = check_folder(Path(folder))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(_("Tất cả %(n)s hướng dẫn đều hợp lệ.", n=len(library().all())))

