"""The news register: stories about digital transformation posted on the ward's portal (the plan asks for one a
month). Staff keep the ward's, a leader their own khu phố's; a month with no story is said plainly.
"""
from collections import Counter
from datetime import date

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField, StringField
from wtforms.validators import URL, DataRequired, InputRequired, Length, Optional, ValidationError

from .extensions import db
from .models import KhuPho, NewsStory
from .pages import render, see_other
from .registers import (EARLIEST_YEAR, check_past_day, khu_pho_in_reach, local_today, month_start, months_of_year,
                        ward_id_of_user)
from .training import DayField

bp = Blueprint("news", __name__, url_prefix="/news")
WARD_WIDE = 0  # the khu phố choice that means "toàn phường"


class StoryForm(FlaskForm):
    title = StringField(_l("Tiêu đề"), validators=[DataRequired(_l("Hãy nhập tiêu đề tin bài.")), Length(max=300)])
    url = StringField(_l("Đường dẫn trên cổng thông tin (nếu có)"), validators=[
        Optional(), Length(max=500), URL(require_tld=True, message=_l("Đường dẫn không hợp lệ: hãy dán địa chỉ "
                                                                      "đầy đủ, bắt đầu bằng https://"))])
    posted_on = DayField(_l("Ngày đăng"), validators=[InputRequired(_l("Hãy nhập ngày đăng.")), check_past_day])
    khu_pho_id = SelectField(_l("Khu phố"), coerce=int, validate_choice=False)

    def validate_url(self, field) -> None:
        if field.data and not field.data.strip().lower().startswith(("http://", "https://")):
            raise ValidationError(_l("Đường dẫn phải bắt đầu bằng http:// hoặc https://"))


def story_form(story: NewsStory | None = None) -> StoryForm:
    """The form, with the khu phố one may choose: staff any of their ward's or the whole ward, a leader theirs."""
    form = StoryForm(obj=story)
    places = khu_pho_in_reach()
    choices = [(p.id, p.name) for p in places]
    if current_user.role == "staff":
        choices.insert(0, (WARD_WIDE, _("Toàn phường")))
    form.khu_pho_id.choices = choices
    if story is not None and not form.is_submitted():
        form.khu_pho_id.data = story.khu_pho_id or WARD_WIDE
    return form


def chosen_khu_pho(form: StoryForm) -> int | None:
    """The khu phố of the form (None: ward-wide); 404 for one out of reach (a forged form)."""
    if form.khu_pho_id.data not in {value for value, _label in form.khu_pho_id.choices}:
        abort(404)
    return form.khu_pho_id.data or None


def stories_in_reach():
    """The stories one may see and change: staff their ward's, a leader their khu phố's."""
    places = khu_pho_in_reach()
    if current_user.role == "staff":
        return select(NewsStory).where(NewsStory.ward_id == current_user.ward_id)
    return select(NewsStory).where(NewsStory.khu_pho_id.in_([p.id for p in places]))


def story_or_404(story_id: int) -> NewsStory:
    story = db.session.scalar(stories_in_reach().where(NewsStory.id == story_id))
    if story is None:
        abort(404)
    return story


def chosen_year(today: date) -> int:
    year = request.args.get("year", type=int) or today.year
    if not EARLIEST_YEAR <= year <= today.year:
        abort(404)
    return year


def list_page(form: StoryForm, status: int = 200):
    today = local_today()
    year = chosen_year(today)
    stories = db.session.scalars(stories_in_reach().where(
        NewsStory.posted_on >= date(year, 1, 1), NewsStory.posted_on <= date(year, 12, 31))
        .order_by(NewsStory.posted_on.desc(), NewsStory.id.desc())).all()
    by_month: dict = {}
    for story in stories:
        by_month.setdefault(month_start(story.posted_on), []).append(story)
    months = [(month, by_month.get(month, [])) for month in months_of_year(year, today)]
    return render("news/index.html", form=form, months=months, year=year, today=today,
                  this_month=month_start(today), earliest=EARLIEST_YEAR,
                  scope_name=_("phường") if current_user.role == "staff" else _("khu phố"), status=status)


@bp.get("/")
@login_required
def index():
    return list_page(story_form())


@bp.post("/")
@login_required
def create():
    form = story_form()
    if form.is_submitted():
        chosen_khu_pho(form)
    if not form.validate_on_submit():
        return list_page(form, 400)
    story = NewsStory(ward_id=ward_id_of_user(), created_by_id=current_user.id)
    fill(story, form)
    db.session.add(story)
    db.session.commit()
    flash(_("Đã thêm tin bài \"%(title)s\".", title=story.title), "success")
    return see_other(url_for("news.index", year=story.posted_on.year))


def fill(story: NewsStory, form: StoryForm) -> None:
    story.title = form.title.data.strip()
    story.url = (form.url.data or "").strip()
    story.posted_on = form.posted_on.data
    story.khu_pho_id = chosen_khu_pho(form)


@bp.route("/<int:story_id>/edit", methods=["GET", "POST"])
@login_required
def edit(story_id: int):
    story = story_or_404(story_id)
    form = story_form(story)
    if form.is_submitted():
        chosen_khu_pho(form)
    if form.validate_on_submit():
        fill(story, form)
        db.session.commit()
        flash(_("Đã lưu tin bài \"%(title)s\".", title=story.title), "success")
        return see_other(url_for("news.index", year=story.posted_on.year))
    return render("news/edit.html", form=form, story=story, status=400 if form.is_submitted() else 200)


class DeleteForm(FlaskForm):
    """Only the CSRF token."""


@bp.post("/<int:story_id>/delete")
@login_required
def delete(story_id: int):
    story = story_or_404(story_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    year, title = story.posted_on.year, story.title
    db.session.delete(story)
    db.session.commit()
    flash(_("Đã xóa tin bài \"%(title)s\".", title=title), "success")
    return see_other(url_for("news.index", year=year))


# --- For the monthly report -------------------------------------------------------------------------

def news_counts(ward_id: int, start: date, end: date) -> dict[int | None, int]:
    """Stories posted from start to end (both included): {khu phố id: n} for every khu phố of the ward (0 where
    none), and {None: n} for the ward-wide ones. The ward's total is the sum of the values."""
    counts = Counter({place_id: 0 for place_id in db.session.scalars(
        select(KhuPho.id).where(KhuPho.ward_id == ward_id))})
    counts[None] = 0
    for place_id, n in db.session.execute(
            select(NewsStory.khu_pho_id, func.count(NewsStory.id))
            .where(NewsStory.ward_id == ward_id, NewsStory.posted_on >= start, NewsStory.posted_on <= end)
            .group_by(NewsStory.khu_pho_id)):
        counts[place_id] += n
    return dict(counts)
