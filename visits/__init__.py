"""The Tổ CNSCĐ field app: create_app builds it from a short list of steps."""
import os

from flask import Flask

from . import config
from .extensions import babel, compress, csrf, db, htmx, limiter, login_manager, migrate


class App(Flask):
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
    register_error_pages(app)
    configure_security(app)
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.default_config(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(config.environment_overrides())
    else:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.instance_secret_key(app.instance_path)


def configure_extensions(app: Flask) -> None:
    from .database import configure_sqlite
    from .i18n import select_locale
    db.init_app(app)
    configure_sqlite(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
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
    from . import exports; app.register_blueprint(exports.bp)  # summary, open households, raw data (.xlsx, CSV)
