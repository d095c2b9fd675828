"""Staff take in a phone's saved outbox file: each item recorded once, as its author's, within the ward."""
import io
import json
import uuid
from datetime import datetime, timezone

from sqlalchemy import select

from visits.extensions import db
from visits.models import Household, Visit

from tests.fixtures import csrf_token


def saved_file(items, app_name="to-cnscd-outbox") -> bytes:
    return json.dumps({"app": app_name, "version": 1, "username": "member1", "items": items}).encode()


def visit_item(household_uuid, username="member1", value="done"):
    payload = {"type": "visit", "uuid": str(uuid.uuid4()), "household": household_uuid,
               "recorded_at": datetime.now(timezone.utc).isoformat(), "outcome": "met", "notes": "", "met": [],
               "facts": [], "answers": [{"resident": None, "code": "ecommerce_guide", "value": value}]}
    return {"uuid": payload["uuid"], "kind": "visit", "payload": payload, "username": username}


def post(client, data: bytes, token=True):
    form = {"file": (io.BytesIO(data), "cho-dong-bo.json")}
    if token:
        form["csrf_token"] = csrf_token(client, "/outbox/upload")
    return client.post("/outbox/upload", data=form, content_type="multipart/form-data")


def uuids(app, area, *names):
    with app.app_context():
        return [db.session.get(Household, area[n]).uuid for n in names]


def test_staff_upload_records_each_item_once_as_its_author(as_user, area, app):
    h12, h2, h_hl = uuids(app, area, "h12", "h2", "h_hl")
    good, bad, other = visit_item(h12), visit_item(h2, value="maybe"), visit_item(h_hl, username="member2")
    stranger = visit_item(h12, username="nobody")
    client = as_user("staff")
    page = post(client, saved_file([good, bad, other, stranger])).get_data(as_text=True)
    assert "Đã nhận: 2 mục mới, 0 mục đã có từ trước, 0 mục chờ, 0 mục trùng mã, 2 mục bị từ chối." in page
    assert "không hợp lệ" in page and "không thuộc phường của bạn" in page
    again = post(client, saved_file([good, other])).get_data(as_text=True)
    assert "Đã nhận: 0 mục mới, 2 mục đã có từ trước" in again
    with app.app_context():
        stored = {(v.uuid, v.user.username) for v in db.session.scalars(select(Visit))}
    assert stored == {(good["uuid"], "member1"), (other["uuid"], "member2")}


def test_staff_of_another_ward_cannot_record_for_this_ward(as_user, area, app):
    (h12,) = uuids(app, area, "h12")
    page = post(as_user("staff_other"), saved_file([visit_item(h12)])).get_data(as_text=True)
    assert "1 mục bị từ chối" in page
    with app.app_context():
        assert db.session.query(Visit).count() == 0


def test_wrong_files_members_and_missing_tokens_are_refused(as_user, area, app, client):
    staff = as_user("staff")
    for data, message in [(b"", "Hãy chọn tệp"), (b"%PDF-1.4", "không đọc được JSON"),
                          (saved_file([], app_name="other"), "không phải tệp")]:
        response = post(staff, data)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    (h12,) = uuids(app, area, "h12")
    assert post(staff, saved_file([visit_item(h12)]), token=False).status_code == 400
    staff.post("/logout", data={"csrf_token": csrf_token(staff, "/")})
    member = as_user("member1")
    assert member.get("/outbox/upload").status_code == 404
    with app.app_context():
        assert db.session.query(Visit).count() == 0


def test_a_refusal_in_the_file_is_recorded_as_its_authors_and_erases_the_names(as_user, area, app):
    [h2] = uuids(app, area, "h2")
    refusal = visit_item(h2)
    refusal["payload"]["consent"] = "no"
    page = post(as_user("staff"), saved_file([refusal])).get_data(as_text=True)
    assert "Đã nhận: 1 mục mới" in page
    with app.app_context():
        household = db.session.get(Household, area["h2"])
        assert (household.consent, household.consent_by_id) == ("no", area["member1"])
        assert "Lê Thị Dung" not in [r.full_name for r in household.residents]
