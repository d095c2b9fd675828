"""The forms that shape a ward; each carries a CSRF token and says in Vietnamese what is wrong."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..extensions import db
from ..imports.places import street_key
from ..models import KhuPho, Street
from ..text import nfc


class KhuPhoForm(FlaskForm):
    code = StringField(_l("Mã khu phố"), validators=[DataRequired(_l("Hãy nhập mã khu phố.")), Length(
        max=20, message=_l("Mã khu phố dài tối đa 20 ký tự."))])
    name = StringField(_l("Tên khu phố"), validators=[DataRequired(_l("Hãy nhập tên khu phố.")), Length(
        max=120, message=_l("Tên khu phố dài tối đa 120 ký tự."))])

    def __init__(self, *args, ward_id: int, place: KhuPho | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ward_id, self.place = ward_id, place

    def validate_code(self, field) -> None:
        field.data = nfc(field.data)
        taken = db.session.scalar(select(KhuPho.id).where(KhuPho.ward_id == self.ward_id,
                                                          KhuPho.code == field.data))
        if taken is not None and (self.place is None or taken != self.place.id):
            raise ValidationError(_l("Phường đã có khu phố mã này."))

    def validate_name(self, field) -> None:
        field.data = nfc(field.data)


class StreetForm(FlaskForm):
    name = StringField(_l("Tên đường, ngõ"), validators=[DataRequired(_l("Hãy nhập tên đường.")), Length(
        max=160, message=_l("Tên đường dài tối đa 160 ký tự."))])

    def __init__(self, *args, khu_pho_id: int, street: Street | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.khu_pho_id, self.street = khu_pho_id, street

    def validate_name(self, field) -> None:
        """"Lê Lợi" and "Đường Lê Lợi" are one street: two would split its households (and the Excel import)."""
        field.data = nfc(field.data)
        others = db.session.scalars(select(Street).where(Street.khu_pho_id == self.khu_pho_id)).all()
        if any(street_key(s.name) == street_key(field.data) for s in others if s is not self.street):
            raise ValidationError(_l("Khu phố đã có đường này."))


class TeamForm(FlaskForm):
    name = StringField(_l("Tên tổ"), validators=[DataRequired(_l("Hãy nhập tên tổ.")), Length(
        max=160, message=_l("Tên tổ dài tối đa 160 ký tự."))])

    def validate_name(self, field) -> None:
        field.data = nfc(field.data)


class AssignForm(FlaskForm):
    member_id = SelectField(_l("Người đi"), coerce=lambda v: int(v) if v not in (None, "") else None,
                            validate_choice=False)


class MoveForm(FlaskForm):
    direction = RadioField(choices=[SelectChoice("up", _l("Lên")), SelectChoice("down", _l("Xuống"))],
                           validators=[DataRequired(_l("Hãy chọn hướng chuyển."))])


class ActionForm(FlaskForm):
    """Only the CSRF token: delete."""


class DeleteKhuPhoForm(FlaskForm):
    """Deleting a khu phố takes its empty streets and teams along: it asks for a tick first."""
    confirm = BooleanField(_l("Tôi chắc chắn muốn xóa khu phố này cùng các đường, tổ trống của nó"),
                           validators=[DataRequired(_l("Hãy đánh dấu ô xác nhận rồi bấm xóa."))])
