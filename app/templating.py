"""Template globals shared by every page: the current space, the HTMX config, dates in French."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask import Flask, g
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
}


def format_date(value: date | datetime | None, with_time: bool = False) -> str:
    """dd/mm/yyyy (and HH:MM), as the seeds show dates."""
    if value is None:
        return ""
    if with_time and isinstance(value, datetime):
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
