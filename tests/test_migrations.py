"""The core's Alembic migrations build exactly the schema of the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from app import create_app
from app.extensions import db


def test_migrations_create_the_schema_the_models_declare(app_config):
    config = dict(app_config, PLUGIN_MODULES=[])  # plugins own their tables
    if config.get("_TEST_SCHEMA"):
        from sqlalchemy import create_engine, text

        engine = create_engine(config["SQLALCHEMY_DATABASE_URI"].replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{config["_TEST_SCHEMA"]}"'))
    application = create_app(config)
    with application.app_context():
        upgrade()
        assert {"accounts", "login_sessions", "tokens", "outbox", "audit_events"} <= set(inspect(db.engine).get_table_names())
        core = {m.class_.__table__.name for m in db.Model.registry.mappers if m.class_.__module__.startswith("app.")}

        def core_only(obj, name, type_, reflected, compare_to) -> bool:
            table = obj if type_ == "table" else getattr(obj, "table", None)
            return table is None or table.name in core

        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": core_only})
            differences = compare_metadata(context, db.metadata)
        if config.get("_TEST_SCHEMA"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{config["_TEST_SCHEMA"]}" CASCADE')
        db.engine.dispose()
    assert differences == []
