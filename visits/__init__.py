"""The Tổ CNSCĐ field app: create_app builds it from a short list of steps."""
import os

from flask import Flask

from . import config
from .extensions import babel, compress, csrf, db, htmx, limiter, login_manager, migrate
from .request_input import CleanRequest, IdConverter


class App(Flask):
    request_class = CleanRequest  # every form value in Unicode NFC, without control characters

    def send_static_file(self, filename: str):
        """Static files are small: read them whole, so they are compressed like any page (not streamed)."""
        response = super().send_static_file(filename)
        response.direct_passthrough = False
        response.make_sequence()
        return response


def create_app(test_config: dict | None = None) -> Flask:
    app = App(__name__, instance_relative_config=True,
              template_folder="../templates", static_folder="../static")
    configure(app, test_config)
    configure_extensions(app)
    register_blueprints(app)
    from .errors import register_error_pages
    from .security import configure_security
    from .sessions import configure_sessions
    register_error_pages(app)
    configure_security(app)
    configure_sessions(app)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.from_mapping(config.default_config(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(config.environment_overrides())
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.instance_secret_key(app.instance_path)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = config.engine_options(app.config["SQLALCHEMY_DATABASE_URI"],
                                                                    app.config.get("SQLALCHEMY_ENGINE_OPTIONS"))


def configure_extensions(app: Flask) -> None:
    from . import audit  # noqa: F401 - registers the session hook that logs changes
    from .database import configure_sqlite
    from .i18n import install_template_gettext, select_locale
    from .labels import install_labels
    db.init_app(app)
    configure_sqlite(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_template_gettext(app)
    install_labels(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    compress.init_app(app)


def register_blueprints(app: Flask) -> None:
    from . import areas, auth, cli, dashboard, households, pwa, sync, team, visit_log
    for module in (auth, areas, households, visit_log, team, dashboard, sync, pwa, cli):
        app.register_blueprint(module.bp)
    from . import guides, outreach  # residents' guides, QR codes, help requests
    app.register_blueprint(guides.bp)
    app.register_blueprint(outreach.bp)
    from . import imports; app.register_blueprint(imports.bp)  # household lists from Excel
    from . import outbox_upload; app.register_blueprint(outbox_upload.bp)  # a phone's saved outbox file
    from . import members; app.register_blueprint(members.bp)  # staff and leaders manage members
    from . import training; app.register_blueprint(training.bp)  # the team's training register (target 9)
    from . import reports; app.register_blueprint(reports.bp)  # the monthly report and its Excel file
    from . import audit_page; app.register_blueprint(audit_page.bp)  # who changed what and when (staff)
    from . import privacy; app.register_blueprint(privacy.bp)  # data-protection page, erasure on request
    from . import group_sessions, news, training_import  # the ward's registers: news, sessions, training from .xlsx
    for register in (news, group_sessions, training_import):
        app.register_blueprint(register.bp)
    from . import manage, setup, wards  # first run, admin's wards, staff shape khu phố, streets, teams
    for module in (setup, wards, manage):
        app.register_blueprint(module.bp)
    from . import backup; app.register_blueprint(backup.bp)  # flask backup / restore
    from . import exports; app.register_blueprint(exports.bp)  # summary, open households, raw data (.xlsx, CSV)
