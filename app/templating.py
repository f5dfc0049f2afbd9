"""Template globals shared by every page: the current space, the HTMX config, dates in French."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g
from flask_wtf.csrf import generate_csrf

#: htmx configuration (the <meta name="htmx-config"> of base.html): no eval,
#: no inline indicator styles (CSP), no history cache of authenticated pages
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "includeIndicatorStyles": False,
    "historyCacheSize": 0,
    "refreshOnHistoryMiss": True,
    "selfRequestsOnly": True,
    "defaultSwapStyle": "innerHTML",
    # error pages come as fragments too (the French message where the answer was expected)
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "[45]..", "swap": True, "error": True},
        {"code": "...", "swap": False},
    ],
}


def format_date(value: date | datetime | None, with_time: bool = False) -> str:
    """dd/mm/yyyy (and HH:MM), as the seeds show dates; stored times are UTC and
    are shown in the portal's time zone (``BABEL_DEFAULT_TIMEZONE``)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        # zoneinfo (the system's tz database): pytz gets Morocco's UTC+1 wrong after 2025
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        value = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(zone)
        if with_time:
            return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["date_fr"] = format_date

    @app.context_processor
    def inject_common() -> dict[str, Any]:
        return {
            "space": g.get("space"),
            "htmx_config": json.dumps(HTMX_CONFIG),
            "hx_headers": lambda: json.dumps({"X-CSRFToken": generate_csrf()}),
        }
