"""The access matrix: every route of the app (read from app.url_map), as every role, with ids inside and
outside the role's scope, for GET and POST. A route without a rule fails the test.

ADDING A ROUTE: add one line to RULES, keyed by its endpoint, saying which kinds of user may use it:

    "news.index": Rule(get=TEAM),                                          # any logged-in user, in scope
    "news.new": Rule(get=MANAGERS, post=MANAGERS, form=lambda w, p: {"title": "Tin"}, writes=True),
    "exports.ward": Rule(get=STAFF),                                       # staff and admin
    "guides.page": Rule(get=PUBLIC),                                       # anyone, no login

- get / post: the kinds of user (member, leader, staff, admin; PUBLIC adds anonymous) allowed that method;
  leave out a method the route does not have.
- Scope comes from the URL's arguments: each argument name has a builder in ARGUMENTS giving an id inside
  place "here" (khu phố KP1, ward W1) or "away" (KP9, ward W2). A role may use the route on a place in its
  scope (SCOPE: member1 and leader1 have KP1, leader2 has neither, staff W1, staff_other W2, admin both).
  A POST's form may name the place too (form=...); a GET is bound by its URL alone (it sends no form).
  A new argument name needs a builder there, one line; w.pick(p, "kp1", "kp9") gives an existing id (also
  "ward"/"ward9", "team1"/"team9", "nguyen_trai"/"street9", "h12"/"h9", "member1b"/"member9"), and
  w.make(Model, **fields) a fresh row, e.g. "story_id": lambda w, p: w.make(NewsStory, khu_pho_id=w.pick(...), ...).
- form(world, place) -> the POST's fields (the CSRF token is added); json(world, place) -> a JSON body.
  writes=True: the allowed POST must change the database (proves the body is one that would work, so the
  refusals are real). refused=(200,): a refusal answered inside a 200 (the sync API rejects per item).
  scoped=False: the route's form names no place (one's own account), so both places are the same request.
  args={name: builder}: this route's own builder for an argument, where the shared one would not do (an
  empty street to delete, a staff account rather than a member).
  NOBODY: a method no one may use here (the first-run page once users exist); with refused=(404,) an
  anonymous refusal may be a 404 rather than the login page.

What is checked, for each (role, place, method):
- allowed GET: 2xx or a redirect that is not to the login page; allowed POST: the same or a 4xx form error
  (400/409/422), and with writes=True a change in the database;
- refused: 401 or a redirect to the login page for anonymous, 403/404 for the others, and for POST no row
  of any table changed (a checksum of every table before and after);
- every answer carries the security headers (CSP without inline script or eval, nosniff, referrer policy,
  frame-ancestors), and no HTML page has an inline script, event handler or inline style for the CSP to block.
"""
import hashlib
import io
import itertools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Callable

import pytest

from visits.extensions import db
from visits.models import (ExportJob, GroupSession, GroupSessionAttendee, HelpRequest, Household, ImportJob, KhuPho,
                           NewsStory, Street, Team, User, utcnow)

from tests.fixtures import PASSWORD, add_household, add_user, login

# --- Who ------------------------------------------------------------------------------------------------

USERS = {"anonymous": None, "member": "member1", "leader_other": "leader2", "leader": "leader1",
         "staff_other": "staff_other", "staff": "staff", "admin": "admin"}
KIND = {"anonymous": "anonymous", "member": "member", "leader_other": "leader", "leader": "leader",
        "staff_other": "staff", "staff": "staff", "admin": "admin"}
SCOPE = {"anonymous": set(), "member": {"here"}, "leader_other": set(), "leader": {"here"},
         "staff_other": {"away"}, "staff": {"here"}, "admin": {"here", "away"}}
PLACES = ("here", "away")

PUBLIC = frozenset({"anonymous", "member", "leader", "staff", "admin"})
TEAM = frozenset({"member", "leader", "staff", "admin"})  # every logged-in user
FIELD = frozenset({"member", "leader"})  # those who walk a khu phố
LEADS = frozenset({"leader", "staff", "admin"})  # dashboards, QR sheets, help requests
MANAGERS = frozenset({"leader", "staff"})  # members and training (admin manages through the CLI)
STAFF = frozenset({"staff", "admin"})
LEADER = frozenset({"leader"})
STAFF_ONLY = frozenset({"staff"})
ADMIN = frozenset({"admin"})
NOBODY = frozenset({"nobody"})  # a kind no user has: refused to everyone


@dataclass
class Rule:
    get: frozenset = frozenset()
    post: frozenset = frozenset()
    form: Callable | None = None
    json: Callable | None = None
    writes: bool = False
    refused: tuple = ()
    ends_session: bool = False
    scoped: bool = True
    args: dict | None = None


# --- The places' ids ---------------------------------------------------------------------------------------

class World:
    """The area fixture's ward (KP1, KP2 in W1) and KP9 in ward W2 with its own team, street and household."""

    def __init__(self, app, area):
        self.app, self.ids, self.serial = app, dict(area.ids), itertools.count(1)
        with app.app_context():
            team9, team9b = Team(khu_pho_id=area["kp9"], name="Tổ 9"), Team(khu_pho_id=area["kp9"], name="Tổ 9B")
            db.session.add_all([team9, team9b])
            db.session.flush()
            ward9 = db.session.get(KhuPho, area["kp9"]).ward
            member9 = add_user("member9", "member", team9, ward9)
            street9 = Street(khu_pho_id=area["kp9"], name="Bãi Cháy", position=1, member_id=member9.id)
            db.session.add(street9)
            db.session.flush()
            h9 = add_household(street9, "9", "Trần Văn Chín", [("Trần Văn Chín", 1970, "smart", "4g")])
            db.session.commit()
            self.ids.update(team9=team9.id, team9b=team9b.id, member9=member9.id, street9=street9.id, h9=h9.id,
                            r9=h9.residents[0].id, ward9=ward9.id)
            self.uuids = {"here": db.session.get(Household, area["h12"]).uuid, "away": h9.uuid}
            self.slug = app.extensions["guides"].all()[0].slug

    def pick(self, place, here, away):
        return self.ids[here] if place == "here" else self.ids[away]

    def n(self) -> int:
        return next(self.serial)

    def fresh_member(self, place) -> int:
        """A member of the place's team, made inactive so that deactivate and reactivate both change it."""
        with self.app.app_context():
            team = db.session.get(Team, self.pick(place, "team1", "team9"))
            person = User(username=f"fresh{self.n()}", password_hash="x", role="member", full_name="Fresh",
                          team_id=team.id, ward_id=team.khu_pho.ward_id, active=False)
            db.session.add(person)
            db.session.commit()
            return person.id

    def fresh_resident(self, place) -> int:
        with self.app.app_context():
            from visits.checklist import plan_items, plan_rules
            from visits.roster import new_resident
            household = db.session.get(Household, self.pick(place, "h12", "h9"))
            resident = new_resident(household, f"Người Mới {self.n()}", 1990, {}, plan_items(), plan_rules())
            db.session.commit()
            return resident.id

    def fresh_street(self, place) -> int:
        """An empty street last in the khu phố's walking order, given to nobody (to move, give out, delete)."""
        return self.make(Street, khu_pho_id=self.pick(place, "kp1", "kp9"), name=f"Ngõ Mới {self.n()}",
                         position=99)

    def fresh_staff(self, place) -> int:
        """A staff account of the place's ward, locked, so that reactivating it changes it."""
        return self.make(User, username=f"canbo{self.n()}", password_hash="x", role="staff", full_name="Cán Bộ",
                         ward_id=self.pick(place, "ward", "ward9"), active=False)

    def fresh_session(self, place, attendee: bool = False) -> int:
        """A group session of the place's khu phố, with An (or Chín) attending when attendee is true."""
        session_id = self.make(GroupSession, khu_pho_id=self.pick(place, "kp1", "kp9"), held_on=date(2025, 6, 1),
                               kind="hop_to_dan_pho", topic=f"Chuyển đổi số {self.n()}")
        if attendee:
            with self.app.app_context():
                db.session.add(GroupSessionAttendee(session_id=session_id, resident_id=self.pick(place, "an", "r9")))
                db.session.commit()
        return session_id

    def fresh_export(self, place) -> int:
        """A finished background export of the place's khu phố, by leader1 (here) or staff_other (away), its file
        written."""
        from visits.exports import jobs
        with self.app.app_context():
            job = ExportJob(user_id=self.pick(place, "leader1", "staff_other"), ward_id=self.pick(place, "ward", "ward9"),
                            kind="summary", format="csv", state="done", rows_total=1, rows_done=1,
                            filters={"khu_pho_ids": [self.pick(place, "kp1", "kp9")]})
            db.session.add(job)
            db.session.commit()
            path = jobs.file_of(job)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\ufeffKhu phố\n")
            return job.id

    def make(self, model, **fields) -> int:
        """A fresh row of any model, committed; its id (see ARGUMENTS)."""
        with self.app.app_context():
            row = model(**fields)
            db.session.add(row)
            db.session.commit()
            return row.id

    def visit_item(self, place) -> dict:
        return {"type": "visit", "uuid": str(uuid.uuid4()), "household": self.uuids[place],
                "recorded_at": utcnow().isoformat(timespec="seconds") + "Z", "outcome": "nobody_home"}


# An argument name -> (world, place) -> the value for that place. Arguments absent from PLACE_FREE name a place.
ARGUMENTS = {
    "khu_pho_id": lambda w, p: w.pick(p, "kp1", "kp9"),
    "street_id": lambda w, p: w.pick(p, "nguyen_trai", "street9"),
    "household_id": lambda w, p: w.pick(p, "h12", "h9"),
    "resident_id": lambda w, p: w.fresh_resident(p),
    "user_id": lambda w, p: w.fresh_member(p),
    "member_id": lambda w, p: w.pick(p, "member1b", "member9"),
    "request_id": lambda w, p: w.make(HelpRequest, khu_pho_id=w.pick(p, "kp1", "kp9"), address="12 Nguyễn Trãi",
                                      phone="0912345678", need="khac", consent_at=utcnow()),
    # A job waiting for confirmation, with no problems: confirm, recheck and cancel all move it on.
    "job_id": lambda w, p: w.make(ImportJob, ward_id=w.pick(p, "ward", "ward9"), state="preview", filename="ds.xlsx",
                                  sheet={"headers": ["Họ tên", "Địa chỉ"], "samples": []}, mapping={"1": "full_name"},
                                  summary={"skipped_rows": 0, "counts": {}, "rows": 0}),
    "ward_id": lambda w, p: w.pick(p, "ward", "ward9"),
    "team_id": lambda w, p: w.make(Team, khu_pho_id=w.pick(p, "kp1", "kp9"), name=f"Tổ Mới {w.n()}"),  # empty
    "story_id": lambda w, p: w.make(NewsStory, ward_id=w.pick(p, "ward", "ward9"), khu_pho_id=w.pick(p, "kp1", "kp9"),
                                    title=f"Tin cũ {w.n()}", posted_on=date(2025, 6, 1)),
    "session_id": lambda w, p: w.fresh_session(p),
    "number": lambda w, p: 1,
    "slug": lambda w, p: w.slug,
    "kind": lambda w, p: "svg",
    "filename": lambda w, p: "css/app.css",
    "month_text": lambda w, p: "2025-06",  # a month that is over: its report may be sent
    "change": lambda w, p: "reactivate",  # the fresh staff account is locked
}
PLACE_FREE = {"number", "slug", "kind", "filename", "month_text", "change"}


def new_uuid() -> str:
    return str(uuid.uuid4())


def outbox_file(w, p):
    author = "member1" if p == "here" else "member9"
    body = {"app": "to-cnscd-outbox", "items": [{"username": author, "payload": w.visit_item(p)}]}
    return {"file": (io.BytesIO(json.dumps(body).encode()), "outbox.json")}


FACTS = {"phone_kind": "smart", "sim": "4g", "handset_2g_only": "no", "has_epay": ""}
PAST_DAY = "2025-06-15"
NEW_PASSWORD = "mot-mat-khau-dai-9"


def story_form(w, p):
    return {"title": f"Tin chuyển đổi số {w.n()}", "url": "https://example.vn/tin", "posted_on": PAST_DAY,
            "khu_pho_id": w.pick(p, "kp1", "kp9")}


def session_form(w, p):
    return {"session_uuid": new_uuid(), "held_on": PAST_DAY, "kind": "hop_to_dan_pho",
            "khu_pho_id": w.pick(p, "kp1", "kp9"), "topic": f"Dịch vụ công trực tuyến {w.n()}"}


RULES: dict[str, Rule] = {
    "static": Rule(get=PUBLIC),
    "auth.login": Rule(get=PUBLIC, post=PUBLIC, form=lambda w, p: {"username": "member1", "password": "sai-mat-khau"}),
    "auth.logout": Rule(post=TEAM, ends_session=True),
    "auth.change_password": Rule(get=TEAM, post=TEAM, writes=True, scoped=False, form=lambda w, p: {
        "current": PASSWORD, "password": PASSWORD, "confirm": PASSWORD}),  # the same: later logins still work
    "areas.home": Rule(get=TEAM),
    "areas.search": Rule(get=TEAM, post=TEAM, scoped=False, form=lambda w, p: {"q": "Nguyễn"}),  # one's own scope
    "areas.khu_pho": Rule(get=TEAM),
    "areas.street": Rule(get=TEAM),
    "areas.next_household": Rule(get=TEAM),
    "households.page": Rule(get=TEAM),
    "households.add_household": Rule(get=TEAM, post=TEAM, writes=True, form=lambda w, p: {
        "house_number": f"99/{w.n()}", "change_uuid": new_uuid(), "confirm_duplicate": "y"}),
    "households.add_resident": Rule(get=TEAM, post=TEAM, writes=True, form=lambda w, p: {
        "full_name": f"Người Thêm {w.n()}", "change_uuid": new_uuid(), "confirm_duplicate": "y", **FACTS}),
    "households.correct_resident": Rule(get=TEAM, post=TEAM, writes=True, form=lambda w, p: {
        "full_name": f"Tên Đã Sửa {w.n()}", "change_uuid": new_uuid(), "birth_year": "1991", **FACTS}),
    "households.mark_moved": Rule(post=TEAM, writes=True, form=lambda w, p: {"change_uuid": new_uuid()}),
    "visit_log.save": Rule(post=TEAM, writes=True, form=lambda w, p: {
        "visit_uuid": new_uuid(), "outcome": "nobody_home"}),
    "sync.session_info": Rule(get=TEAM),
    "sync.sync": Rule(post=TEAM, writes=True, refused=(200,), json=lambda w, p: {"items": [w.visit_item(p)]}),
    "pwa.manifest": Rule(get=PUBLIC),
    "pwa.service_worker": Rule(get=PUBLIC),
    "pwa.offline": Rule(get=PUBLIC),
    "pwa.outbox": Rule(get=PUBLIC),  # an empty shell: the list is drawn from the phone's IndexedDB
    "pwa.offline_pages": Rule(get=FIELD),  # the pages of one's khu phố, for a phone to keep
    "team.overview": Rule(get=LEADER),
    "team.member": Rule(get=LEADER),
    "team.assign": Rule(post=LEADER, writes=True, form=lambda w, p: {"member_id": ""}),
    "dashboard.ward": Rule(get=LEADS),
    "dashboard.activity": Rule(get=LEADS),
    "dashboard.khu_pho": Rule(get=LEADS),
    "dashboard.open_households": Rule(get=LEADS),
    "members.index": Rule(get=MANAGERS),
    "members.create": Rule(post=MANAGERS, writes=True, form=lambda w, p: {
        "username": f"moi{w.n()}", "full_name": "Thành Viên Mới", "role": "member",
        "team_id": w.pick(p, "team1", "team9"), "password": "mot-mat-khau-dai-9"}),
    "members.deactivate": Rule(post=MANAGERS, writes=True),
    "members.reactivate": Rule(post=MANAGERS, writes=True),
    "members.password": Rule(get=MANAGERS, post=MANAGERS, writes=True,
                             form=lambda w, p: {"password": "mot-mat-khau-dai-9"}),
    "members.move": Rule(post=STAFF_ONLY, writes=True, form=lambda w, p: {"team_id": w.pick(p, "team2", "team9b")}),
    "training.index": Rule(get=MANAGERS),
    "training.record": Rule(post=MANAGERS, writes=True, form=lambda w, p: {
        "user_id": w.pick(p, "member1b", "member9"), "course": "Kỹ năng số cơ bản", "completed_on": "2026-01-15"}),
    "imports.index": Rule(get=STAFF),
    "imports.template": Rule(get=STAFF),
    "imports.upload": Rule(post=STAFF),  # no file: a form error, nothing written
    "imports.job": Rule(get=STAFF),
    "imports.mapping": Rule(get=STAFF, post=STAFF),  # no column chosen: a form error
    "imports.problems": Rule(get=STAFF),
    "imports.step": Rule(post=STAFF),
    "imports.confirm": Rule(post=STAFF, writes=True),
    "imports.recheck": Rule(post=STAFF, writes=True),
    "imports.cancel": Rule(post=STAFF, writes=True),
    "outbox_upload.form": Rule(get=STAFF),
    "outbox_upload.upload": Rule(post=STAFF, writes=True, refused=(200,), form=outbox_file),
    "guides.index": Rule(get=PUBLIC),
    "guides.page": Rule(get=PUBLIC),
    "guides.hands_on": Rule(get=PUBLIC),
    "guides.guide_qr": Rule(get=PUBLIC),
    "guides.khu_pho": Rule(get=PUBLIC),
    "guides.khu_pho_qr": Rule(get=PUBLIC),
    "guides.ask_for_help": Rule(get=PUBLIC, post=PUBLIC),  # an empty form: refused with its errors
    "guides.help_sent": Rule(get=PUBLIC),
    "outreach.home": Rule(get=LEADS),
    "outreach.print_guides": Rule(get=LEADS),
    "outreach.print_flyer": Rule(get=LEADS),
    "outreach.scans": Rule(get=LEADS),
    "outreach.contact": Rule(get=LEADS, post=LEADS, writes=True,
                             form=lambda w, p: {"meeting_place": f"Nhà văn hóa {w.n()}"}),
    "outreach.help_list": Rule(get=LEADS),
    "outreach.close_request": Rule(post=LEADS, writes=True, form=lambda w, p: {"outcome": "Đã đến giúp"}),
    # The ward's registers: staff their ward's, a leader their khu phố's; members and admin nothing.
    "news.index": Rule(get=MANAGERS),
    "news.create": Rule(post=MANAGERS, writes=True, form=story_form),
    "news.edit": Rule(get=MANAGERS, post=MANAGERS, writes=True, form=story_form),
    "news.delete": Rule(post=MANAGERS, writes=True),
    "group_sessions.index": Rule(get=MANAGERS),
    "group_sessions.create": Rule(get=MANAGERS, post=MANAGERS, writes=True, form=session_form),
    "group_sessions.page": Rule(get=MANAGERS),
    "group_sessions.edit": Rule(get=MANAGERS, post=MANAGERS, writes=True, form=session_form),
    "group_sessions.delete": Rule(post=MANAGERS, writes=True),
    "group_sessions.add_attendees": Rule(post=MANAGERS, writes=True,
                                         form=lambda w, p: {"resident_id": w.pick(p, "an", "r9")}),
    "group_sessions.remove_attendees": Rule(post=MANAGERS, writes=True,
                                            args={"session_id": lambda w, p: w.fresh_session(p, attendee=True)},
                                            form=lambda w, p: {"resident_id": w.pick(p, "an", "r9")}),
    "training_import.index": Rule(get=MANAGERS),
    "training_import.template": Rule(get=MANAGERS),
    "training_import.upload": Rule(post=MANAGERS),  # no file: a form error, nothing written
    "training_import.confirm": Rule(post=MANAGERS),  # no signed rows: 400, nothing written
    # The monthly report: staff their ward's, a leader their khu phố's row, admin looks; only staff send.
    "reports.month": Rule(get=LEADS),
    "reports.workbook": Rule(get=LEADS),
    "reports.send": Rule(post=STAFF_ONLY, writes=True),
    "dashboard.trend": Rule(get=LEADS),
    "audit.index": Rule(get=STAFF),
    "exports.index": Rule(get=LEADS, post=LEADS),  # no fields: a form error, nothing written
    "exports.job": Rule(get=LEADS, args={"job_id": lambda w, p: w.fresh_export(p)}),  # its author, ward staff, admin
    "exports.progress": Rule(post=LEADS, args={"job_id": lambda w, p: w.fresh_export(p)}),
    "exports.download": Rule(get=LEADS, args={"job_id": lambda w, p: w.fresh_export(p)}),
    "privacy.page": Rule(get=PUBLIC),
    "privacy.erase": Rule(get=LEADS, post=LEADS, writes=True),
    # First run: once any user exists (always, here) the page is 404 to everyone and makes no second admin.
    "setup.first_admin": Rule(get=NOBODY, post=NOBODY, refused=(404,), scoped=False, form=lambda w, p: {
        "username": f"quantri{w.n()}", "full_name": "Quản Trị", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    # Admin's wards and their staff accounts.
    "wards.index": Rule(get=ADMIN),
    "wards.create": Rule(post=ADMIN, writes=True, scoped=False, form=lambda w, p: {
        "code": f"P{w.n()}", "name": "Phường Mới", "province": "Quảng Ninh"}),
    "wards.page": Rule(get=ADMIN),
    "wards.edit": Rule(post=ADMIN, writes=True, form=lambda w, p: {
        "code": "W1" if p == "here" else "W2", "name": f"Phường Đổi Tên {w.n()}", "province": "Quảng Ninh"}),
    "wards.create_staff": Rule(post=ADMIN, writes=True, form=lambda w, p: {
        "username": f"canbomoi{w.n()}", "full_name": "Cán Bộ Mới", "password": NEW_PASSWORD}),
    "wards.lock_staff": Rule(post=ADMIN, writes=True, args={"user_id": lambda w, p: w.fresh_staff(p)}),
    "wards.staff_password": Rule(get=ADMIN, post=ADMIN, writes=True, args={"user_id": lambda w, p: w.fresh_staff(p)},
                                 form=lambda w, p: {"password": NEW_PASSWORD}),
    # Shaping a ward: staff their ward's khu phố and teams (admin any), leaders also their khu phố's streets.
    "manage.index": Rule(get=LEADS),  # each one's way in: a redirect
    "manage.ward": Rule(get=STAFF),
    "manage.create_khu_pho": Rule(post=STAFF, writes=True, form=lambda w, p: {
        "code": f"KPM{w.n()}", "name": "Khu phố Mới"}),
    "manage.khu_pho": Rule(get=LEADS),
    "manage.edit_khu_pho": Rule(post=STAFF, writes=True, form=lambda w, p: {
        "code": "KP1" if p == "here" else "KP9", "name": f"Khu phố Đổi Tên {w.n()}"}),
    "manage.delete_khu_pho": Rule(post=STAFF, writes=True, form=lambda w, p: {"confirm": "y"}, args={
        "khu_pho_id": lambda w, p: w.make(KhuPho, ward_id=w.pick(p, "ward", "ward9"), code=f"KPX{w.n()}",
                                          name="Khu phố Trống")}),
    "manage.create_street": Rule(post=LEADS, writes=True, form=lambda w, p: {"name": f"Ngõ {w.n()}"}),
    "manage.rename_street": Rule(post=LEADS, writes=True, form=lambda w, p: {"name": f"Phố Đổi Tên {w.n()}"}),
    "manage.move_street": Rule(post=LEADS, writes=True, form=lambda w, p: {"direction": "up"},
                               args={"street_id": lambda w, p: w.fresh_street(p)}),
    "manage.assign_street": Rule(post=LEADS, writes=True, args={"street_id": lambda w, p: w.fresh_street(p)},
                                 form=lambda w, p: {"member_id": w.pick(p, "member1b", "member9")}),
    "manage.delete_street": Rule(post=LEADS, writes=True, args={"street_id": lambda w, p: w.fresh_street(p)}),
    "manage.create_team": Rule(post=STAFF, writes=True, form=lambda w, p: {"name": f"Tổ {w.n()}"}),
    "manage.rename_team": Rule(post=STAFF, writes=True, form=lambda w, p: {"name": f"Tổ Đổi Tên {w.n()}"}),
    "manage.delete_team": Rule(post=STAFF, writes=True),
}

# --- Checking ------------------------------------------------------------------------------------------------

DENIED = (403, 404)
FORM_ERRORS = (400, 409, 422)


def routes(app):
    """(endpoint, url rule, methods) of every route, GET and POST only (HEAD and OPTIONS follow GET)."""
    return [(rule.endpoint, rule, sorted(rule.methods & {"GET", "POST"})) for rule in app.url_map.iter_rules()]


def to_login(response) -> bool:
    return response.status_code in (301, 302, 303) and "/login" in response.headers.get("Location", "")


def table_checksum(app) -> str:
    """Every row of every table, hashed: any write between two calls changes it."""
    digest = hashlib.sha256()
    with app.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = sorted(repr(tuple(row)) for row in conn.exec_driver_sql(f'SELECT * FROM "{table.name}"'))
            digest.update(f"{table.name}:{len(rows)}:{''.join(rows)}".encode())
    return digest.hexdigest()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>|\son[a-z]+\s*=|\bhx-on|"
                           r"javascript:|\bstyle\s*=\s*[\"']|<style", re.IGNORECASE)


def page_problems(response) -> list[str]:
    """What the CSP would block on an HTML page: inline scripts, handlers, styles, javascript: links.

    Not `response.is_streamed`: every test client response is streamed until read, so that skipped them all."""
    if response.mimetype != "text/html":
        return []
    found = INLINE_SCRIPT.search(response.get_data(as_text=True))
    return [f"inline script or style: {found.group(0)!r}"] if found else []


def header_problems(response) -> list[str]:
    policy = response.headers.get("Content-Security-Policy", "")
    problems = []
    if "script-src 'self'" not in policy or "unsafe-inline" in policy or "unsafe-eval" in policy:
        problems.append(f"CSP {policy!r}")
    if "frame-ancestors 'none'" not in policy:
        problems.append("no frame-ancestors")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    if not response.headers.get("Referrer-Policy"):
        problems.append("no Referrer-Policy")
    return problems


class Walker:
    def __init__(self, app, world, role):
        self.app, self.world, self.role = app, world, role
        self.client = app.test_client()
        self.failures: list[str] = []
        self.sign_in()

    def sign_in(self) -> None:
        username = USERS[self.role]
        if username is not None:
            assert login(self.client, username, PASSWORD).status_code == 302
            self.token = self.client.get("/api/session").get_json()["csrf_token"]
        else:
            page = self.client.get("/login").get_data(as_text=True)
            self.token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]

    def allowed(self, kinds: frozenset, place: str, place_bound: bool) -> bool:
        if "anonymous" in kinds:
            return True
        return KIND[self.role] in kinds and (not place_bound or place in SCOPE[self.role])

    def walk(self, endpoint: str, rule, methods: list[str]) -> None:
        spec = RULES[endpoint]
        url_bound = spec.scoped and bool(set(rule.arguments) - PLACE_FREE)
        post_bound = url_bound or (spec.scoped and (spec.form is not None or spec.json is not None))
        for place in PLACES if post_bound else PLACES[:1]:
            for method in methods:
                place_bound = post_bound if method == "POST" else url_bound  # a GET sends no form
                if not place_bound and place != PLACES[0]:
                    continue
                kinds = spec.get if method == "GET" else spec.post
                if not kinds:
                    self.failures.append(f"{endpoint}: {method} has no rule (add {method.lower()}=... to its Rule)")
                    continue
                self.check(endpoint, rule, spec, method, place, self.allowed(kinds, place, place_bound))

    def url(self, rule, place) -> str:
        builders = {**ARGUMENTS, **(RULES[rule.endpoint].args or {})}
        missing = [name for name in rule.arguments if name not in builders]
        assert not missing, f"{rule.endpoint}: add a builder to ARGUMENTS for {missing}"
        with self.app.test_request_context():
            from flask import url_for
            return url_for(rule.endpoint, **{name: builders[name](self.world, place) for name in rule.arguments})

    def check(self, endpoint, rule, spec, method, place, allowed) -> None:
        url = self.url(rule, place)
        where = f"{self.role} {method} {url} ({endpoint}, {place})"
        if method == "GET":
            response = self.client.get(url)
            self.judge_get(where, response, allowed, spec)
        else:
            before = table_checksum(self.app)
            response = self.post(url, spec, place)
            changed = table_checksum(self.app) != before
            self.judge_post(where, response, allowed, spec, changed)
            if spec.ends_session and allowed:
                if self.client.get("/api/session").status_code != 401:
                    self.failures.append(f"{where}: the session goes on")
                self.sign_in()
        self.failures += [f"{where}: {problem}" for problem in header_problems(response) + page_problems(response)]
        response.close()  # a file sent (static, xlsx) is closed with its response

    def post(self, url, spec, place):
        if spec.json is not None:
            return self.client.post(url, json=spec.json(self.world, place), headers={"X-CSRFToken": self.token})
        data = dict(spec.form(self.world, place)) if spec.form else {}
        data["csrf_token"] = self.token
        return self.client.post(url, data=data)

    def judge_get(self, where, response, allowed, spec) -> None:
        status = response.status_code
        if allowed and (status >= 400 or to_login(response)):
            self.failures.append(f"{where}: should be allowed, got {status}")
        if not allowed and not (self.refused(response) or status in spec.refused):
            self.failures.append(f"{where}: should be refused, got {status}")

    def judge_post(self, where, response, allowed, spec, changed) -> None:
        status = response.status_code
        if allowed:
            if (to_login(response) and not spec.ends_session) or (status >= 400 and status not in FORM_ERRORS):
                self.failures.append(f"{where}: should be allowed, got {status}")
            elif spec.writes and not changed:
                self.failures.append(f"{where}: allowed, but nothing was written (is the rule's form right?)")
            return
        if changed:
            self.failures.append(f"{where}: should be refused, but the database changed (status {status})")
        if not (self.refused(response) or status in spec.refused):
            self.failures.append(f"{where}: should be refused, got {status}")

    def refused(self, response) -> bool:
        if self.role == "anonymous":
            return response.status_code == 401 or to_login(response)
        return response.status_code in DENIED


@pytest.fixture
def world(app, area):
    return World(app, area)


def test_every_route_has_a_rule_and_every_rule_a_route(app):
    endpoints = {endpoint for endpoint, _rule, _methods in routes(app)}
    assert sorted(endpoints - set(RULES)) == [], "routes without a rule: add them to RULES (see the top of this file)"
    assert sorted(set(RULES) - endpoints) == [], "rules for routes that no longer exist"
    for endpoint, rule, methods in routes(app):
        spec = RULES[endpoint]
        assert ("GET" in methods) == bool(spec.get), f"{endpoint}: its Rule's get= does not match its methods"
        assert ("POST" in methods) == bool(spec.post), f"{endpoint}: its Rule's post= does not match its methods"
        unknown = [name for name in rule.arguments if name not in {**ARGUMENTS, **(spec.args or {})}]
        assert not unknown, f"{endpoint}: add a builder to ARGUMENTS for {unknown}"


@pytest.mark.parametrize("role", list(USERS))
def test_access_matrix(app, world, role):
    walker = Walker(app, world, role)
    for endpoint, rule, methods in sorted(routes(app), key=lambda r: r[0]):
        if endpoint in RULES:
            walker.walk(endpoint, rule, methods)
    assert not walker.failures, "\n".join(walker.failures)


def test_htmx_is_configured_for_a_strict_csp(client, area):  # with no user yet, /login leads to /setup/
    page = client.get("/login").get_data(as_text=True)
    config = json.loads(re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', page).group(1))
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False  # htmx would add an inline <style> the CSP blocks


# --- CSRF: every state-changing request needs the session's own token ------------------------------------

def user_for(kinds: frozenset) -> str:
    """A role allowed to make the request on place "here", so that only the token is missing."""
    return next((role for role in ("anonymous", "staff", "leader", "member", "admin") if KIND[role] in kinds),
                "anonymous")  # NOBODY: the token is checked before anything else


def test_every_post_without_the_sessions_own_token_is_refused_and_writes_nothing(app, world):
    stranger = Walker(app, world, "anonymous").token  # a valid token, of another session
    failures = []
    for endpoint, rule, methods in sorted(routes(app), key=lambda r: r[0]):
        spec = RULES.get(endpoint)
        if "POST" not in methods or spec is None:
            continue
        walker = Walker(app, world, user_for(spec.post))
        for token in (None, stranger, "x" * 20):
            url = walker.url(rule, "here")
            before = table_checksum(app)
            if spec.json is not None:
                headers = {"X-CSRFToken": token} if token else {}
                response = walker.client.post(url, json=spec.json(world, "here"), headers=headers)
            else:
                data = dict(spec.form(world, "here")) if spec.form else {}
                if token:
                    data["csrf_token"] = token
                response = walker.client.post(url, data=data)
            response.close()
            if response.status_code != 400 or table_checksum(app) != before:
                failures.append(f"{walker.role} POST {url} ({endpoint}) with token {token!r:.12}: "
                                f"{response.status_code}, written: {table_checksum(app) != before}")
        if spec.ends_session and walker.client.get("/api/session").status_code != 200:
            failures.append(f"{endpoint}: the session ended without a token")
    assert not failures, "\n".join(failures)
