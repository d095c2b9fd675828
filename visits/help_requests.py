"""A resident asks the khu phố's team for a visit; spam is kept out without any third-party service.

Three locks: a hidden field that people never see but form-filling bots fill (the request is then dropped and
the bot told it worked), a signed timestamp that refuses a form sent faster than a person can type it or days
after it was opened, and Flask-Limiter per address. The phone number is asked for with an explicit consent
line, used only to arrange the visit, and erased when the leader closes the request.
"""
import re
import time

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .extensions import db
from .models import HelpRequest, KhuPho, utcnow
from .text import nfc

OTHER = "khac"
_PHONE_NOISE = re.compile(r"[\s.\-()]")


def help_limit() -> str:
    return current_app.config.get("RATELIMIT_HELP", "5 per hour;20 per day")


def normalise_phone(value: str) -> str | None:
    """A Vietnamese mobile or landline number as 0 + 9 digits; None when it is not one."""
    digits = _PHONE_NOISE.sub("", value or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if re.fullmatch(r"0\d{9}", digits) else None


class HelpForm(FlaskForm):
    address = StringField(_l("Địa chỉ nhà (số nhà, ngõ, đường)"), validators=[
        DataRequired(_l("Hãy nhập địa chỉ để Tổ tìm đến.")), Length(max=200)])
    phone = StringField(_l("Số điện thoại để Tổ gọi hẹn"), validators=[
        DataRequired(_l("Hãy nhập số điện thoại để Tổ gọi hẹn.")), Length(max=20)])
    need = SelectField(_l("Cần giúp việc gì"), validators=[DataRequired()])
    details = TextAreaField(_l("Nói thêm (không bắt buộc)"), validators=[Optional(), Length(max=500)])
    consent = BooleanField(validators=[DataRequired(_l("Cần đồng ý thì Tổ mới được dùng số điện thoại để gọi hẹn."))])
    website = StringField(_l("Để trống ô này"))  # the trap: hidden from people by CSS, filled by bots
    started = HiddenField()

    def __init__(self, choices, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.need.choices = choices

    def validate_phone(self, field):
        if normalise_phone(field.data) is None:
            raise ValidationError(_("Số điện thoại chưa đúng: cần 10 chữ số, bắt đầu bằng 0."))


def need_choices(guides) -> list[tuple[str, str]]:
    return [(g.slug, g.title) for g in guides] + [(OTHER, _("Việc khác"))]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="help-form")


def issue_stamp(khu_pho_id: int) -> str:
    """A signed note of when (and for which khu phố) the form was opened."""
    return _serializer().dumps({"k": khu_pho_id})


def stamp_problem(stamp: str, khu_pho_id: int) -> str | None:
    """Why a form's timestamp refuses it, or None when it was filled in at a human pace."""
    max_age = current_app.config.get("HELP_MAX_AGE_SECONDS", 24 * 3600)
    try:
        data, signed_at = _serializer().loads(stamp or "", max_age=max_age, return_timestamp=True)
    except SignatureExpired:
        return _("Biểu mẫu đã mở quá lâu. Hãy kiểm tra lại rồi bấm gửi một lần nữa.")
    except BadSignature:
        return _("Biểu mẫu không hợp lệ. Hãy tải lại trang rồi gửi lại.")
    if data.get("k") != khu_pho_id:
        return _("Biểu mẫu không hợp lệ. Hãy tải lại trang rồi gửi lại.")
    if time.time() - signed_at.timestamp() < current_app.config.get("HELP_MIN_FILL_SECONDS", 4):
        return _("Gửi nhanh quá. Hãy kiểm tra lại thông tin rồi bấm gửi một lần nữa.")
    return None


def submit_help_request(form: HelpForm, place: KhuPho) -> str:
    """Check and store a request: "saved", "trap" (dropped, a bot), or "invalid" (errors are on the form)."""
    if form.website.data:
        return "trap"
    valid = form.validate()
    problem = stamp_problem(form.started.data, place.id)
    form.started.data = issue_stamp(place.id)  # a refused form can be sent again as it stands
    if problem:
        form.form_errors.append(problem)
        return "invalid"
    if not valid:
        return "invalid"
    now = utcnow()
    db.session.add(HelpRequest(khu_pho_id=place.id, address=nfc(form.address.data)[:200],
                               phone=normalise_phone(form.phone.data), need=form.need.data,
                               details=nfc(form.details.data or "")[:500], consent_at=now, created_at=now))
    db.session.commit()
    return "saved"
