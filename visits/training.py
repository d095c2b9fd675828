"""The team's training register (target 9): who finished the plan's digital-skills course on OneTouch, and when.

Staff record for their ward's teams, a leader for their own team; completions after the plan's deadline are late.
"""
from datetime import date

from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from .checklist import active_plan
from .extensions import db
from .models import Target, TrainingCompletion, User, utcnow
from .pages import render, see_other
from .members import teams_in_scope

bp = Blueprint("training", __name__, url_prefix="/training")

EARLIEST_COMPLETION = date(2020, 1, 1)  # before the course existed: a year typed wrong
DEFAULT_COURSE = "Kỹ năng số cơ bản — nền tảng OneTouch"
TRAINING_TARGET = 9


class DayField(DateField):
    """A date from the browser's date picker (YYYY-MM-DD), with the error in Vietnamese."""

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_l("Ngày không hợp lệ.")) from error


class CompletionForm(FlaskForm):
    user_id = SelectField(_l("Thành viên"), coerce=int, validate_choice=False)
    course = StringField(_l("Khóa học"), default=DEFAULT_COURSE,
                         validators=[DataRequired(_l("Hãy nhập tên khóa học.")), Length(max=200)])
    completed_on = DayField(_l("Ngày hoàn thành"), validators=[InputRequired(_l("Hãy nhập ngày hoàn thành."))])
    certificate = StringField(_l("Số chứng nhận (nếu có)"), validators=[Optional(), Length(max=80)])

    def validate_completed_on(self, field) -> None:
        if field.data and field.data > date.today():
            raise ValidationError(_l("Ngày hoàn thành không thể ở tương lai."))
        if field.data and field.data < EARLIEST_COMPLETION:
            raise ValidationError(_l("Ngày hoàn thành quá xa trong quá khứ; hãy kiểm tra lại năm."))


def deadline() -> date | None:
    return db.session.scalar(select(Target.deadline).where(Target.plan_id == active_plan().id,
                                                           Target.number == TRAINING_TARGET))


def people_in_scope() -> list[User]:
    """The members and leaders of the teams one may record for (active or not: the record stays)."""
    teams = teams_in_scope()
    return db.session.scalars(select(User).where(User.team_id.in_([t.id for t in teams]),
                                                 User.role.in_(("member", "leader")))
                              .order_by(User.team_id, User.full_name)).all()


def completion_form(people: list[User]) -> CompletionForm:
    form = CompletionForm()
    form.user_id.choices = [(p.id, p.full_name or p.username) for p in people if p.active]
    return form


def register_page(form: CompletionForm, people: list[User], status: int = 200):
    completions = db.session.scalars(select(TrainingCompletion).where(
        TrainingCompletion.user_id.in_([p.id for p in people]))
        .order_by(TrainingCompletion.completed_on)).all()
    by_person: dict = {}
    for c in completions:
        by_person.setdefault(c.user_id, []).append(c)
    teams = {t.id: t for t in teams_in_scope()}
    active = [p for p in people if p.active]
    done = sum(1 for p in active if by_person.get(p.id))
    return render("training/index.html", form=form, people=people, teams=teams, by_person=by_person,
                  deadline=deadline(), done=done, total=len(active), status=status)


@bp.get("/")
@login_required
def index():
    people = people_in_scope()
    return register_page(completion_form(people), people)


@bp.post("/")
@login_required
def record():
    people = people_in_scope()
    form = completion_form(people)
    if form.is_submitted() and form.user_id.data not in {p.id for p in people}:
        abort(404)  # someone outside one's teams
    if not form.validate_on_submit():
        return register_page(form, people, 400)
    entry = TrainingCompletion(user_id=form.user_id.data, course=form.course.data.strip(),
                               completed_on=form.completed_on.data, certificate=(form.certificate.data or "").strip(),
                               recorded_by_id=current_user.id, recorded_at=utcnow())
    db.session.add(entry)
    db.session.commit()
    person = db.session.get(User, entry.user_id)
    flash(_("Đã ghi nhận %(name)s hoàn thành khóa học.", name=person.full_name or person.username), "success")
    return see_other(url_for("training.index"))
