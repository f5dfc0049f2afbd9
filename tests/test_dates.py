"""Dates are shown dd/mm/yyyy, times in the portal's time zone (stored in UTC)."""
from __future__ import annotations

from datetime import date, datetime

from app.templating import format_date


def test_utc_times_are_shown_in_casablanca_time_all_year(app):
    with app.test_request_context():
        assert format_date(datetime(2026, 11, 30, 12, 0), with_time=True) == "30/11/2026 13:00"
        assert format_date(datetime(2026, 7, 1, 23, 30)) == "02/07/2026"


def test_plain_dates_are_shown_day_first(app):
    with app.test_request_context():
        assert format_date(date(2026, 3, 9)) == "09/03/2026"
        assert format_date(None) == ""
