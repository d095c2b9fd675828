"""Forms for the field: adding a household or resident, correcting facts. All carry a CSRF token."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, UUID

PHONE_CHOICES = [SelectChoice("none", _l("Không có")), SelectChoice("basic", _l("Điện thoại thường")),
                 SelectChoice("smart", _l("Điện thoại thông minh"))]
SIM_CHOICES = [SelectChoice("4g", _l("SIM 4G")), SelectChoice("2g", _l("SIM 2G")), SelectChoice("unknown", _l("Không rõ"))]
YES_NO = [SelectChoice("no", _l("Không")), SelectChoice("yes", _l("Có"))]
YES_NO_UNKNOWN = [SelectChoice("", _l("Chưa rõ")), SelectChoice("no", _l("Không")), SelectChoice("yes", _l("Có"))]


class ChangeForm(FlaskForm):
    """Every field change carries the UUID the page made for it, so a resend is not a second change."""
    change_uuid = HiddenField(validators=[DataRequired(), UUID(_l("Mã thay đổi không hợp lệ."))])
    recorded_at = HiddenField()


class HouseholdForm(ChangeForm):
    house_number = StringField(_l("Số nhà / địa chỉ"), validators=[
        DataRequired(_l("Hãy nhập số nhà.")), Length(max=80)])
    head_name = StringField(_l("Chủ hộ"), validators=[Optional(), Length(max=160)])
    is_business = BooleanField(_l("Hộ sản xuất kinh doanh"))
    confirm_duplicate = BooleanField(_l("Tôi đã kiểm tra, đây là hộ khác"))


class FactsMixin:
    phone_kind = RadioField(_l("Điện thoại"), choices=PHONE_CHOICES, default="none")
    sim = RadioField(_l("SIM"), choices=SIM_CHOICES, default="unknown")
    handset_2g_only = RadioField(_l("Máy chỉ hỗ trợ 2G"), choices=YES_NO, default="no")
    has_epay = RadioField(_l("Có tài khoản thanh toán điện tử"), choices=YES_NO_UNKNOWN, default="",
                          validate_choice=True)


class ResidentForm(ChangeForm, FactsMixin):
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(_l("Hãy nhập họ tên.")), Length(max=160)])
    birth_year = IntegerField(_l("Năm sinh"), validators=[
        Optional(), NumberRange(1900, 2030, _l("Năm sinh phải từ 1900 đến 2030."))])
    confirm_duplicate = BooleanField(_l("Tôi đã kiểm tra, đây là người khác"))


class CorrectionForm(ChangeForm, FactsMixin):
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(_l("Hãy nhập họ tên.")), Length(max=160)])
    birth_year = IntegerField(_l("Năm sinh"), validators=[
        Optional(), NumberRange(1900, 2030, _l("Năm sinh phải từ 1900 đến 2030."))])


class MovedForm(ChangeForm):
    pass


class VisitForm(FlaskForm):
    """The fixed part of a visit; answers and facts per resident are read by visit_log.py."""
    visit_uuid = HiddenField(validators=[DataRequired(), UUID(_l("Mã lần thăm không hợp lệ."))])
    recorded_at = HiddenField()
    outcome = RadioField(_l("Kết quả"), choices=[
        SelectChoice("met", _l("Gặp được")), SelectChoice("nobody_home", _l("Không có nhà")),
        SelectChoice("come_back", _l("Hẹn quay lại")), SelectChoice("refused", _l("Từ chối"))],
        validators=[DataRequired(_l("Hãy chọn kết quả lần thăm."))])
    notes = TextAreaField(_l("Ghi chú"), validators=[Optional(), Length(max=2000)])
