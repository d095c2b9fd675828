"""/audit/: who changed what and when, for staff (their ward) and admin (everything).

The log's entries and the visits (each its own record of who and when) are listed together, newest first,
filtered by person, khu phố and date (Vietnam's days), a page at a time.
"""
from datetime import datetime, time, timedelta

from flask import Blueprint, abort, request
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import literal, select, union_all
from wtforms import DateField, Form, IntegerField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional

from .extensions import db
from .models import AuditEntry, Household, KhuPho, User, Visit
from .pages import render
from .scope import khu_pho_ids, require_role

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 50
VN_OFFSET = timedelta(hours=7)  # entries are stored in UTC; a day is a day in Vietnam

ACTION_LABELS = {
    "create": _l("Thêm"), "update": _l("Sửa"), "delete": _l("Xóa"), "visit": _l("Ghi lần thăm"),
    "import": _l("Nhập danh sách từ Excel"), "sync": _l("Đồng bộ từ điện thoại"),
    "outbox_upload": _l("Nhận tệp dữ liệu chờ gửi"), "export": _l("Xuất dữ liệu"),
    "erase": _l("Xóa dữ liệu cá nhân"), "consent": _l("Ghi nhận đồng ý lưu dữ liệu"),
    "demo_data": _l("Tạo dữ liệu mẫu"),
}
ENTITY_LABELS = {
    "ward": _l("Phường"), "khu_pho": _l("Khu phố"), "street": _l("Đường"), "household": _l("Hộ"),
    "resident": _l("Nhân khẩu"), "team": _l("Tổ"), "app_user": _l("Tài khoản"), "plan": _l("Kế hoạch"),
    "target": _l("Chỉ tiêu"), "checklist_item": _l("Mục việc cần làm"), "khu_pho_contact": _l("Liên hệ khu phố"),
    "help_request": _l("Yêu cầu hỗ trợ"), "import_job": _l("Lượt nhập Excel"),
    "import_mapping": _l("Cách ghép cột Excel"), "training_completion": _l("Hoàn thành khóa học"),
    "news_story": _l("Tin bài"), "group_session": _l("Buổi sinh hoạt"),
    "group_session_attendee": _l("Người dự buổi sinh hoạt"), "visit": _l("Lần thăm"),
}
FIELD_LABELS = {
    "full_name": _l("họ tên"), "name_key": _l("họ tên (tìm kiếm)"), "head_name": _l("chủ hộ"),
    "phone": _l("số điện thoại"), "birth_year": _l("năm sinh"), "password_hash": _l("mật khẩu"),
    "username": _l("tên đăng nhập"), "house_number": _l("số nhà"), "address": _l("địa chỉ"),
    "address_key": _l("địa chỉ (tìm kiếm)"), "sort_key": _l("thứ tự số nhà"), "details": _l("nội dung"),
    "notes": _l("ghi chú"), "outcome": _l("kết quả"), "certificate": _l("số chứng nhận"),
}


class FilterForm(Form):
    """The filters, read from the query string: only ids and dates, never a name."""
    nguoi = SelectField(_l("Người thực hiện"), coerce=int, validate_choice=False)
    khu_pho = SelectField(_l("Khu phố"), coerce=int, validate_choice=False)
    tu = DateField(_l("Từ ngày"), validators=[Optional()])
    den = DateField(_l("Đến ngày"), validators=[Optional()])
    loai = SelectField(_l("Loại"), choices=[SelectChoice("", _l("Tất cả")),
                                            SelectChoice("thay-doi", _l("Thay đổi dữ liệu")),
                                            SelectChoice("tham", _l("Lần thăm"))], validate_choice=False)
    trang = IntegerField(validators=[Optional(), NumberRange(min=1)])


@bp.get("/")
@login_required
def index():
    require_role("staff", "admin")
    form = FilterForm(request.args)
    form.nguoi.choices = [SelectChoice(0, _l("Mọi người"))] + \
        [SelectChoice(u.id, label_of(u)) for u in people_in_scope()]
    form.khu_pho.choices = [SelectChoice(0, _l("Mọi khu phố"))] + \
        [SelectChoice(k.id, k.name) for k in khu_phos_in_scope()]
    errors = problems(form)
    if not errors:
        in_scope(form)
    page = form.trang.data if not errors and form.trang.data else 1
    rows = [] if errors else page_of(form, page)
    entries = described(rows[:PAGE_SIZE])
    return render("audit/index.html", form=form, errors=errors, entries=entries, page=page,
                  has_next=len(rows) > PAGE_SIZE, query=query_without_page())


def problems(form: FilterForm) -> list[str]:
    """What is wrong with the filters, in plain words (nothing is listed until it is fixed)."""
    errors = []
    form.validate()
    if form.tu.errors or form.den.errors:
        errors.append(str(_l("Ngày không hợp lệ: hãy chọn ngày theo dạng ngày/tháng/năm.")))
    elif form.tu.data and form.den.data and form.tu.data > form.den.data:
        errors.append(str(_l("\"Từ ngày\" phải trước hoặc bằng \"Đến ngày\".")))
    if form.trang.errors:
        errors.append(str(_l("Số trang không hợp lệ.")))
    if form.nguoi.errors or form.khu_pho.errors or form.loai.data not in ("", None, "thay-doi", "tham"):
        errors.append(str(_l("Bộ lọc không hợp lệ.")))
    return errors


def in_scope(form: FilterForm) -> None:
    """A person or khu phố outside one's ward answers 404, like any id out of scope."""
    for field in (form.nguoi, form.khu_pho):
        if field.data and field.data not in {choice.value for choice in field.choices}:
            abort(404)


def people_in_scope() -> list[User]:
    query = select(User).order_by(User.full_name, User.username)
    if current_user.role != "admin":
        query = query.where(User.ward_id == current_user.ward_id)
    return db.session.scalars(query).all()


def khu_phos_in_scope() -> list[KhuPho]:
    query = select(KhuPho).order_by(KhuPho.ward_id, KhuPho.code)
    if current_user.role != "admin":
        query = query.where(KhuPho.ward_id == current_user.ward_id)
    return db.session.scalars(query).all()


def label_of(user: User) -> str:
    return f"{user.full_name} ({user.username})" if user.full_name else user.username


def page_of(form: FilterForm, page: int) -> list:
    """(source, id, at) of the page's rows and one more (to know whether a next page exists), newest first."""
    entries = select(literal("audit").label("source"), AuditEntry.id.label("id"), AuditEntry.at.label("at"))
    visits = select(literal("visit").label("source"), Visit.id.label("id"), Visit.received_at.label("at")) \
        .join(Household, Visit.household_id == Household.id)
    if current_user.role != "admin":
        entries = entries.where(AuditEntry.ward_id == current_user.ward_id)
        visits = visits.where(Household.khu_pho_id.in_(khu_pho_ids(current_user) or [-1]))
    if form.nguoi.data:
        entries, visits = entries.where(AuditEntry.user_id == form.nguoi.data), \
            visits.where(Visit.user_id == form.nguoi.data)
    if form.khu_pho.data:
        entries, visits = entries.where(AuditEntry.khu_pho_id == form.khu_pho.data), \
            visits.where(Household.khu_pho_id == form.khu_pho.data)
    if form.tu.data:
        start = datetime.combine(form.tu.data, time()) - VN_OFFSET
        entries, visits = entries.where(AuditEntry.at >= start), visits.where(Visit.received_at >= start)
    if form.den.data:
        end = datetime.combine(form.den.data + timedelta(days=1), time()) - VN_OFFSET
        entries, visits = entries.where(AuditEntry.at < end), visits.where(Visit.received_at < end)
    parts = {"thay-doi": [entries], "tham": [visits]}.get(form.loai.data, [entries, visits])
    both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    query = select(both.c.source, both.c.id, both.c.at).order_by(both.c.at.desc(), both.c.source, both.c.id.desc()) \
        .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)
    return db.session.execute(query).all()


def described(rows: list) -> list[dict]:
    """The page's rows as the template shows them: when, who, what, where, details."""
    audit_ids = [r.id for r in rows if r.source == "audit"]
    visit_ids = [r.id for r in rows if r.source == "visit"]
    entries = {e.id: e for e in db.session.scalars(select(AuditEntry).where(AuditEntry.id.in_(audit_ids)))} \
        if audit_ids else {}
    visits = {v.id: v for v in db.session.execute(
        select(Visit.id, Visit.user_id, Visit.household_id, Visit.outcome, Household.khu_pho_id)
        .join(Household, Visit.household_id == Household.id).where(Visit.id.in_(visit_ids)))} if visit_ids else {}
    user_ids = {e.user_id for e in entries.values()} | {v.user_id for v in visits.values()}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids - {None})))}
    khu_phos = dict(db.session.execute(select(KhuPho.id, KhuPho.name)).all())
    described = []
    for row in rows:
        if row.source == "audit":
            e = entries[row.id]
            described.append({"at": when(e.at), "who": who(users.get(e.user_id), e.user_id),
                              "action": ACTION_LABELS.get(e.action, e.action),
                              "entity": ENTITY_LABELS.get(e.entity, e.entity), "entity_id": e.entity_id,
                              "khu_pho": khu_phos.get(e.khu_pho_id, ""), "details": detail_lines(e.details or {}),
                              "household_id": e.entity_id if e.entity == "household" and e.action != "delete"
                              else None})
        else:
            v = visits[row.id]
            described.append({"at": when(row.at), "who": who(users.get(v.user_id), v.user_id),
                              "action": ACTION_LABELS["visit"], "entity": ENTITY_LABELS["household"],
                              "entity_id": v.household_id, "khu_pho": khu_phos.get(v.khu_pho_id, ""),
                              "details": [], "outcome": v.outcome, "household_id": v.household_id})
    return described


def when(at: datetime) -> str:
    return format_datetime(at, "dd/MM/yyyy HH:mm")


def who(user: User | None, user_id: int | None) -> str:
    if user is not None:
        return label_of(user)
    return str(_l("Hệ thống")) if user_id is None else f"#{user_id}"


def detail_lines(details: dict) -> list[str]:
    """Plain lines: "field: old → new", "field = value", and the personal fields by name only."""
    lines = []
    for name, (before, after) in (details.get("changed") or {}).items():
        lines.append(f"{name}: {shown(before)} → {shown(after)}")
    for name, value in (details.get("fields") or {}).items():
        if value not in (None, "", [], {}):
            lines.append(f"{name} = {shown(value)}")
    for name, value in details.items():
        if name not in ("changed", "fields", "personal"):
            lines.append(f"{name}: {shown(value)}")
    personal = details.get("personal") or []
    if personal:
        lines.append(str(_l("Dữ liệu cá nhân (không ghi giá trị): %(fields)s",
                            fields=", ".join(str(FIELD_LABELS.get(p, p)) for p in personal))))
    return lines


def shown(value) -> str:
    if value is None:
        return "—"
    if value is True:
        return str(_l("có"))
    if value is False:
        return str(_l("không"))
    return str(value)


def query_without_page() -> dict:
    return {k: v for k, v in request.args.items() if k != "trang" and v}
