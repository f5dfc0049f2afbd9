"""« Traçabilité » of the back office (CORE-10, CORE-11): the insurer's audit
trail, newest first, filtered by action, login and dates; every query is
scoped by ``AuditEvent.insurer``. Secrets never reached the trail
(``app.audit.record`` drops them)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, func, or_, select
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional, ValidationError

from app.audit import action_labels
from app.backoffice import AGENT_PROFILE, backoffice_bp, current_insurer
from app.lists import Column, Criteria, SearchList, render_list, text_criterion
from app.models import Account, AuditEvent
from app.plugins.manager import registry_of
from app.spaces import requires_profile
from app.templating import format_date

#: a date typed dd/mm/yyyy or picked (yyyy-mm-dd); the first format is the one a date input shows
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
DATE_MESSAGE = _l("Date invalide : saisissez-la sous la forme jj/mm/aaaa.")


class DayField(DateField):
    """A date typed dd/mm/yyyy or picked; a valid one is shown back as the date input expects it."""

    def __init__(self, label: str, **kwargs) -> None:
        super().__init__(label, format=DATE_FORMATS, invalid_value_message=DATE_MESSAGE, **kwargs)

    def _value(self) -> str:
        return self.data.isoformat() if self.data else super()._value()


def _not_before_start(form: FlaskForm, field: DateField) -> None:
    if field.data and form.date_from.data and field.data < form.date_from.data:
        raise ValidationError(_l("La date de fin précède la date de début."))


def in_insurer() -> ColumnElement[bool]:
    """The insurer's audit events: every query of « Traçabilité » is scoped by it."""
    return AuditEvent.insurer == current_insurer()


def _utc_midnight(day: date) -> datetime:
    """The start of ``day`` in the portal's time zone, as a stored (naive UTC) time."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


def _by_login(typed: str) -> ColumnElement[bool]:
    """A login who acted or was acted on starts with ``typed`` (case ignored)."""
    typed = typed.lower()
    return or_(
        func.lower(AuditEvent.actor).startswith(typed, autoescape=True),
        func.lower(Account.login).startswith(typed, autoescape=True),
    )


def trail() -> SearchList:
    """« Traçabilité » as a list, newest first; each row is an event and the login of its account."""
    labels = action_labels()
    titles = {s.key: s.title for s in registry_of(current_app).spaces.values() if s.insurer == current_insurer()}
    criteria = type(
        "AuditCriteria",
        (Criteria,),
        {
            "action": SelectField(
                _l("Action"),
                choices=[SelectChoice("", _("Toutes les actions"))]
                + [SelectChoice(action, label) for action, label in sorted(labels.items(), key=lambda item: item[1])],
                validators=[Optional()],
                default="",
                invalid_choice_message=_l("Choix invalide."),
            ),
            "login": text_criterion("Identifiant", max_length=200),
            "date_from": DayField(_l("Du"), validators=[Optional()]),
            "date_to": DayField(_l("Au"), validators=[Optional(), _not_before_start]),
        },
    )
    return SearchList(
        name="audit",
        title="Traçabilité des actions",
        endpoint="backoffice.audit",
        query=select(AuditEvent, Account.login).outerjoin(Account, Account.id == AuditEvent.account_id),
        scope=in_insurer,
        columns=(
            Column("at", "Date", value=lambda r: format_date(r[0].at, True), sort=AuditEvent.at),
            Column("action", "Action", value=lambda r: labels.get(r[0].action, r[0].action)),
            Column("account", "Compte", value=lambda r: r[1] or ""),
            Column("space", "Espace", value=lambda r: _(titles[r[0].space_key]) if r[0].space_key in titles else (r[0].space_key or "")),
            Column("actor", "Par", value=lambda r: r[0].actor),
            Column("address", "Adresse", value=lambda r: r[0].address or ""),
        ),
        criteria=criteria,
        filters={
            "action": lambda value: AuditEvent.action == value,
            "login": _by_login,
            "date_from": lambda day: AuditEvent.at >= _utc_midnight(day),
            "date_to": lambda day: AuditEvent.at < _utc_midnight(day + timedelta(days=1)),
        },
        default_sort="at",
        default_dir="desc",
        page_size=25,
        count_label="Nombre d'actions : %(count)s",
        empty_label="Aucune action ne correspond à ces critères.",
    )


@backoffice_bp.get("/audit")
@requires_profile(AGENT_PROFILE)
def audit():
    """« Traçabilité »: the insurer's audit trail, by pages; bad filters show their message and no rows."""
    return render_list(trail(), "backoffice/audit.html", layout="space/layout.html")
