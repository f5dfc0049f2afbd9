"""Throttling counters can live in Redis, so that several workers share them (SAFE-3)."""
from __future__ import annotations

import uuid

import pytest

from tests.conftest import SPACE_URL, csrf_of, login, make_account


@pytest.fixture
def redis_limits(app_config):
    app_config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379"
    app_config["RATELIMIT_KEY_PREFIX"] = f"portail-test-{uuid.uuid4().hex}"
    app_config["LOGIN_LIMITS_PER_ACCOUNT"] = "3 per minute"
    return app_config


def test_failed_logins_are_counted_in_redis_and_shared_by_two_workers(redis_limits, app):
    from app import create_app

    make_account(app)
    other_worker = create_app(redis_limits).test_client()  # same Redis, same database
    first_worker = app.test_client()
    for worker in (first_worker, other_worker, first_worker):
        assert login(worker, password="mauvais123").status_code == 200
    page = other_worker.get(f"{SPACE_URL}/login")
    blocked = other_worker.post(
        f"{SPACE_URL}/login",
        data={"csrf_token": csrf_of(page.get_data(as_text=True)), "adherent": "1001", "password": "mauvais123"},
    )
    assert blocked.status_code == 429
    assert "Trop de tentatives" in blocked.get_data(as_text=True)
