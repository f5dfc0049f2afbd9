"""« Traçabilité » of the back office (CORE-10, CORE-11): the insurer's audit
trail, newest first, filtered by action, login and dates; every query is
scoped by ``AuditEvent.insurer``. Secrets never reached the trail
(``app.audit.record`` drops them)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import Select, func, or_, select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from app.backoffice import AGENT_PROFILE, backoffice_bp, current_insurer
from app.backoffice.accounts import Page, action_labels, active_filters, one_of_choices, paginate, printable
from app.htmx import render
from app.models import Account, AuditEvent
from app.plugins.manager import registry_of
from app.spaces import requires_profile

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


class AuditSearchForm(FlaskForm):
    """The filters of « Traçabilité »: a GET form, its values in the address bar."""

    class Meta:
        csrf = False  # a search changes nothing

    action = SelectField(_l("Action"), choices=[], validate_choice=False, validators=[one_of_choices])
    login = StringField(_l("Identifiant"), validators=[Optional(), Length(max=200), printable])
    date_from = DayField(_l("Du"), validators=[Optional()])
    date_to = DayField(_l("Au"), validators=[Optional(), _not_before_start])


def _search_form(labels: dict[str, str]) -> AuditSearchForm:
    form = AuditSearchForm(formdata=request.args)
    form.action.choices = [("", _("Toutes les actions"))] + sorted(labels.items(), key=lambda item: item[1])
    return form


def _utc_midnight(day: date) -> datetime:
    """The start of ``day`` in the portal's time zone, as a stored (naive UTC) time."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


def scoped_events() -> Select:
    """The insurer's audit events with the login of the account each is about: every query starts here."""
    return (
        select(AuditEvent, Account.login)
        .outerjoin(Account, Account.id == AuditEvent.account_id)
        .where(AuditEvent.insurer == current_insurer())
    )


def _filtered(stmt: Select, form: AuditSearchForm) -> Select:
    """Apply the filters: the action, a login who acted or was acted on (prefix), the days (inclusive)."""
    if form.action.data:
        stmt = stmt.where(AuditEvent.action == form.action.data)
    typed = (form.login.data or "").strip().lower()
    if typed:
        stmt = stmt.where(
            or_(
                func.lower(AuditEvent.actor).startswith(typed, autoescape=True),
                func.lower(Account.login).startswith(typed, autoescape=True),
            )
        )
    if form.date_from.data:
        stmt = stmt.where(AuditEvent.at >= _utc_midnight(form.date_from.data))
    if form.date_to.data:
        stmt = stmt.where(AuditEvent.at < _utc_midnight(form.date_to.data + timedelta(days=1)))
    return stmt


@backoffice_bp.get("/audit")
@requires_profile(AGENT_PROFILE)
def audit():
    """« Traçabilité »: the insurer's audit trail, by pages; bad filters show their message and no rows."""
    labels = action_labels()
    form = _search_form(labels)
    if form.validate():
        page = paginate(_filtered(scoped_events(), form).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), scalars=False)
    else:
        page = Page([])
    return render(
        "backoffice/audit.html",
        form=form,
        page=page,
        filters=active_filters(form, "action", "login", "date_from", "date_to"),
        action_labels=labels,
        space_titles={s.key: s.title for s in registry_of(current_app).spaces.values() if s.insurer == current_insurer()},
    )
