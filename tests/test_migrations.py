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
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
        if config.get("_TEST_SCHEMA"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{config["_TEST_SCHEMA"]}" CASCADE')
        db.engine.dispose()
    assert differences == []
