"""Staff and leaders: printable A4 QR sheets, scan counts, a khu phố's public contact, and residents' help requests.

Scoped like every other page: a leader sees their khu phố, staff their ward, admin all; members none of it.
"""
import re
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional, URL, ValidationError

from .extensions import db
from .guides import library
from .help_requests import OTHER
from .models import HelpRequest, Household, KhuPho, KhuPhoContact, QrScan, Visit, Ward, utcnow
from .qr import CHANNELS, Source, local_today, parse_tag
from .request_input import MAX_ID
from .scope import khu_pho_ids, khu_pho_or_404, require_role
from .text import fold

bp = Blueprint("outreach", __name__)
STAFF_ROLES = ("leader", "staff", "admin")


def places_in_scope() -> list[KhuPho]:
    allowed = khu_pho_ids(current_user)
    query = select(KhuPho).order_by(KhuPho.ward_id, KhuPho.code)
    return db.session.scalars(query if allowed is None else query.where(KhuPho.id.in_(allowed))).all()


def default_source(channel: str) -> Source:
    """Where a sheet printed by this user goes by default: a leader's khu phố, staff's ward."""
    if current_user.role == "leader":
        place = next(iter(places_in_scope()), None)
        return Source(channel, place.ward_id if place else None, place.id if place else None)
    return Source(channel, current_user.ward_id)


def chosen_source() -> Source:
    """The sheet's source from ?kenh=&noi=, kept inside the user's scope."""
    channel = request.args.get("kenh", "mc" if current_user.role != "leader" else "tr")
    if channel not in CHANNELS:
        abort(404)
    place = request.args.get("noi", "")
    if not place:
        return default_source(channel)
    source = parse_tag(f"{channel}-{place}")
    allowed = khu_pho_ids(current_user)
    if source is None or (allowed is not None and not (
            source.khu_pho_id in allowed or (source.khu_pho_id is None and current_user.role == "staff"
                                             and source.ward_id == current_user.ward_id))):
        abort(404)
    return source


@bp.get("/qr/")
@login_required
def home():
    """What a leader or staff member can print and see: sheets, flyers, codes for Zalo, scans, help requests."""
    require_role(*STAFF_ROLES)
    return render_template("guides/staff_home.html", places=places_in_scope(), channels=CHANNELS,
                           default=default_source("mc" if current_user.role != "leader" else "tr"))


@bp.get("/qr/in/huong-dan")
@login_required
def print_guides():
    """An A4 sheet of every guide's code with its title, for a desk, a notice board or a meeting."""
    require_role(*STAFF_ROLES)
    source = chosen_source()
    return render_template("guides/print_guides.html", guides=library().all(), source=source,
                           channel=CHANNELS[source.channel], place=place_label(source))


@bp.get("/qr/in/khu-pho/<int:khu_pho_id>")
@login_required
def print_flyer(khu_pho_id: int):
    """The door flyer of a khu phố: its page's code, large, and the guides' codes below."""
    require_role(*STAFF_ROLES)
    place = khu_pho_or_404(khu_pho_id)
    return render_template("guides/print_flyer.html", place=place, guides=library().all(),
                           source=Source("tr", place.ward_id, place.id))


def place_label(source: Source) -> str:
    if source.khu_pho_id:
        place = db.session.get(KhuPho, source.khu_pho_id)
        return f"{place.name}, {place.ward.name}" if place else ""
    if source.ward_id:
        ward = db.session.get(Ward, source.ward_id)
        return ward.name if ward else ""
    return ""


def scans_in_scope():
    allowed = khu_pho_ids(current_user)
    query = select(QrScan)
    if current_user.role == "staff":
        return query.where(QrScan.ward_id == current_user.ward_id)
    if allowed is not None:
        return query.where(QrScan.khu_pho_id.in_(allowed))
    return query


@bp.get("/qr/luot-quet")
@login_required
def scans():
    """Scans per code per day over the last weeks; nothing in it says who scanned."""
    require_role(*STAFF_ROLES)
    days = min(max(request.args.get("ngay", 30, type=int), 1), 366)
    since = local_today() - timedelta(days=days - 1)
    rows = db.session.scalars(scans_in_scope().where(QrScan.day >= since)
                              .order_by(QrScan.day.desc(), QrScan.code, QrScan.tag)).all()
    totals = {}
    for row in rows:
        totals[(row.code, row.tag)] = totals.get((row.code, row.tag), 0) + row.count
    return render_template("guides/scans.html", rows=rows, days=days, code_label=code_label,
                           tag_label=tag_label, totals=sorted(totals.items(), key=lambda item: -item[1]))


def code_label(code: str) -> str:
    kind, _sep, key = code.partition("/")
    if kind == "g":
        guide = library().get(key)
        return guide.title if guide else key
    place = db.session.get(KhuPho, int(key)) if key.isdigit() else None
    return _("Trang %(name)s", name=place.name) if place else code


def tag_label(tag: str) -> str:
    source = parse_tag(tag)
    if source is None:
        return tag
    where = place_label(source)
    return f"{CHANNELS[source.channel]} · {where}" if where else str(CHANNELS[source.channel])


# --- A khu phố's public contact -------------------------------------------------------------------

class ContactForm(FlaskForm):
    meeting_place = StringField(_l("Nơi Tổ hỗ trợ người dân"), validators=[Optional(), Length(max=200)])
    meeting_time = StringField(_l("Thời gian"), validators=[Optional(), Length(max=200)])
    zalo_url = StringField(_l("Đường link nhóm Zalo của khu phố"), validators=[
        Optional(), Length(max=300), URL(message=_l("Đường link phải bắt đầu bằng https://"))])

    def validate_zalo_url(self, field):
        if field.data and not field.data.lower().startswith(("https://", "http://")):
            raise ValidationError(_("Đường link phải bắt đầu bằng https://"))


@bp.route("/qr/khu-pho/<int:khu_pho_id>/lien-he", methods=["GET", "POST"])
@login_required
def contact(khu_pho_id: int):
    """What the khu phố's public page says about reaching the team; public, so no person's name or phone."""
    require_role(*STAFF_ROLES)
    place = khu_pho_or_404(khu_pho_id)
    row = db.session.scalar(select(KhuPhoContact).where(KhuPhoContact.khu_pho_id == place.id))
    form = ContactForm(obj=row)
    if form.validate_on_submit():
        row = row or KhuPhoContact(khu_pho_id=place.id)
        form.populate_obj(row)
        row.updated_at, row.updated_by_id = utcnow(), current_user.id
        db.session.add(row)
        db.session.commit()
        flash(_("Đã lưu. Trang công khai của khu phố đã cập nhật."), "success")
        return redirect(url_for("outreach.contact", khu_pho_id=place.id), 303)
    return render_template("guides/contact.html", place=place, form=form), 400 if form.errors else 200


# --- Help requests: the leader's to-do list -------------------------------------------------------

class CloseForm(FlaskForm):
    household_id = IntegerField(validators=[Optional(), NumberRange(1, MAX_ID)])
    outcome = StringField(_l("Kết quả"), validators=[Optional(), Length(max=300)])


def requests_in_scope():
    allowed = khu_pho_ids(current_user)
    query = select(HelpRequest)
    return query if allowed is None else query.where(HelpRequest.khu_pho_id.in_(allowed))


def suggested_households(req: HelpRequest) -> list[Household]:
    """Households of the request's khu phố whose address has every word of the address the resident typed."""
    words = [w for w in re.findall(r"[0-9a-z/]+", fold(req.address)) if len(w) > 1 or w.isdigit()]
    if not words:
        return []
    query = select(Household).where(Household.khu_pho_id == req.khu_pho_id).order_by(Household.sort_key).limit(8)
    found = db.session.scalars(query.where(*[Household.address_key.contains(w, autoescape=True) for w in words])).all()
    numbers = [w for w in words if any(c.isdigit() for c in w)]
    if not found and numbers:
        found = db.session.scalars(query.where(Household.address_key.contains(numbers[0], autoescape=True))).all()
    return found


def need_label(need: str) -> str:
    guide = library().get(need)
    return guide.title if guide else (_("Việc khác") if need == OTHER else need)


@bp.get("/ho-tro/")
@login_required
def help_list():
    """Open requests, oldest first, with the households they may be; and the last ones closed."""
    require_role(*STAFF_ROLES)
    open_requests = db.session.scalars(requests_in_scope().where(HelpRequest.status == "open")
                                       .order_by(HelpRequest.created_at)).all()
    closed = db.session.scalars(requests_in_scope().where(HelpRequest.status == "closed")
                                .order_by(HelpRequest.closed_at.desc()).limit(20)).all()
    visits = latest_visits([r.household_id for r in closed if r.household_id])
    return render_template("guides/help_list.html", open_requests=open_requests, closed=closed, visits=visits,
                           suggestions={r.id: suggested_households(r) for r in open_requests},
                           need_label=need_label, form=CloseForm(formdata=None))


def latest_visits(household_ids: list[int]) -> dict:
    if not household_ids:
        return {}
    return dict(db.session.execute(select(Visit.household_id, func.max(Visit.recorded_at))
                                   .where(Visit.household_id.in_(household_ids)).group_by(Visit.household_id)).all())


@bp.post("/ho-tro/<int:request_id>/dong")
@login_required
def close_request(request_id: int):
    """Close a request once the team has been; link it to the household visited, and erase the phone number."""
    require_role(*STAFF_ROLES)
    req = db.session.scalar(requests_in_scope().where(HelpRequest.id == request_id))
    if req is None:
        abort(404)
    form = CloseForm()
    if not form.validate():
        abort(400)
    if form.household_id.data:
        household = db.session.get(Household, form.household_id.data)
        if household is None or household.khu_pho_id != req.khu_pho_id:
            abort(404)
        req.household_id = household.id
    req.status, req.closed_at, req.closed_by_id = "closed", utcnow(), current_user.id
    req.outcome = (form.outcome.data or "").strip()
    req.phone = ""  # consent covered arranging this visit only
    db.session.commit()
    flash(_("Đã đóng yêu cầu; số điện thoại của người dân đã được xoá."), "success")
    return redirect(url_for("outreach.help_list"), 303)


@bp.app_template_global()
def open_help_count(khu_pho_id: int) -> int:
    """Open requests of a khu phố, for the leader's page."""
    return db.session.scalar(select(func.count(HelpRequest.id)).where(
        HelpRequest.khu_pho_id == khu_pho_id, HelpRequest.status == "open")) or 0

