"""The screens of profile PEC, « Consultation des prises en charge » (seed 003 II-1):
« Droits assurés » (CNSS-8), « Suivi des demandes de prise en charge (PEC) » (CNSS-9)
and « Récapitulatif des prises en charge » (CNSS-10). Tenant data goes through
``plugins.cnss.scoping``; the rights lookup is open to every establishment but audited."""
from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, StringField
from wtforms.validators import Optional

from app.exports import export_list
from app.extensions import db
from app.htmx import render
from app.lists import Column, Criteria, SearchList, between, equals, local_today, period_criterion, render_list, text_criterion
from app.pdf import pdf_response
from app.spaces import requires_profile
from plugins.cnss.models import CareAuthorisation
from plugins.cnss.pec_summary import pec_summary
from plugins.cnss.rights import SearchKey, check_rights
from plugins.cnss.scoping import own_rows
from plugins.cnss.space import PEC, pages
from plugins.cnss.validators import cni_error, cnss_number_error, field_check

# --------------------------------------------------------------------------
# « Droits assurés » (CNSS-8)
# --------------------------------------------------------------------------


class RightsForm(FlaskForm):
    """« N°CNSS » or « CNI », each with its « Ok » (``par`` says which one was pressed).
    A POST: the numbers of a patient stay out of addresses, logs and the history."""

    cnss = StringField(_l("N°CNSS"), validators=[Optional(), field_check(cnss_number_error)])
    cni = StringField(_l("CNI"), validators=[Optional(), field_check(cni_error)])
    #: set by the « Ok » pressed; anything else is ignored (it only breaks a tie)
    par = HiddenField()

    key: SearchKey
    value: str

    def validate(self, extra_validators: Any = None) -> bool:
        """One number, well formed: the one typed, or the one whose « Ok » was pressed."""
        if not super().validate(extra_validators):
            return False
        filled = [name for name in ("cnss", "cni") if self[name].data]
        if len(filled) == 2 and self.par.data in filled:
            filled = [self.par.data]
        if not filled:
            self.cnss.errors.append(_l("Saisissez le N° CNSS ou le N° de CNI de l'assuré."))
            return False
        if len(filled) == 2:
            self.cni.errors.append(_l("Saisissez le N° CNSS ou le N° de CNI, pas les deux."))
            return False
        self.key = filled[0]  # type: ignore[assignment]
        self.value = self[self.key].data
        return True


def _rights_page(form: RightsForm, check: Any = None) -> Response:
    return render("cnss/rights.html", form=form, check=check, today=local_today())


@pages.route("/droits", methods=["GET", "POST"])
@requires_profile(PEC)
def rights() -> Response:
    """« Droits assurés »: the form, and after « Ok » the insured's and the family's AMO
    rights, stamped with the time of the check (HTMX swaps the result under the form)."""
    form = RightsForm()
    check = None
    if form.validate_on_submit():
        check = check_rights(form.key, form.value, account=current_user._get_current_object())
        db.session.commit()
    return _rights_page(form, check)


@pages.post("/droits/attestation")
@requires_profile(PEC)
def rights_attestation() -> Response:
    """The check run again and printed as an attestation (PDF), audited like the screen."""
    form = RightsForm()
    if not form.validate_on_submit():
        return _rights_page(form)
    check = check_rights(form.key, form.value, account=current_user._get_current_object(), attestation=True)
    db.session.commit()
    if not check.found:
        return _rights_page(form, check)
    return pdf_response(
        "cnss/rights_pdf.html",
        f"attestation-droits-{check.cnss_number}.pdf",
        reference=check.reference,
        printed_on=check.checked_at,
        check=check,
        today=local_today(),
        account=current_user,
    )


# --------------------------------------------------------------------------
# « Suivi des demandes de prise en charge (PEC) » (CNSS-9)
# --------------------------------------------------------------------------


class PecCriteria(Criteria):
    """« Critères de recherche »: one or several (seed 003 1.2, multi-criteria)."""

    cnss = StringField(_l("N°CNSS"), validators=[Optional(), field_check(cnss_number_error)])
    dossier = text_criterion("N° de dossier", max_length=20)
    periode = period_criterion("Période d'envoi", recent_years=True)


PEC_LIST = SearchList(
    name="pec",
    title="Suivi des demandes de prise en charge (PEC)",
    endpoint="cnss.pec_list",
    export_endpoint="cnss.pec_export",
    query=select(CareAuthorisation),
    scope=lambda: own_rows(CareAuthorisation),
    columns=(
        Column("cnss_number", "N°CNSS", sort=CareAuthorisation.cnss_number),
        Column("beneficiary", "Bénéficiaire", sort=CareAuthorisation.beneficiary),
        Column("number", "N° de la PEC", sort=CareAuthorisation.number),
        Column("received_on", "Date de réception", type="date", sort=CareAuthorisation.received_on),
        Column("amount_requested", "Montant demandé (DH)", type="amount", sort=CareAuthorisation.amount_requested),
        Column("amount_granted", "Montant accordé (DH)", type="amount", sort=CareAuthorisation.amount_granted),
        Column("situation", "Situation de la PEC", sort=CareAuthorisation.situation),
        Column("situation_on", "Date de situation", type="date", sort=CareAuthorisation.situation_on),
        Column("document", "Document"),
    ),
    criteria=PecCriteria,
    filters={
        "cnss": equals(CareAuthorisation.cnss_number),
        "dossier": lambda number: CareAuthorisation.number == number.upper(),
        "periode": between(CareAuthorisation.received_on),
    },
    default_sort="received_on",
    default_dir="desc",
)


@pages.get("/pec")
@requires_profile(PEC)
def pec_list() -> Response:
    """« Suivi des demandes de prise en charge (PEC) »: the establishment's PEC only."""
    return render_list(PEC_LIST, "cnss/pec_list.html")


@pages.get("/pec/export")
@requires_profile(PEC)
def pec_export() -> Response:
    """« Exporter »: the same PEC, criteria and order, as an Excel file (audited)."""
    return export_list(PEC_LIST)


# --------------------------------------------------------------------------
# « Récapitulatif des prises en charge » (CNSS-10)
# --------------------------------------------------------------------------


class SummaryCriteria(Criteria):
    """« Période d'envoi », the current and the previous year unless chosen (CORE-18)."""

    periode = period_criterion("Période d'envoi", recent_years=True)


@pages.get("/pec/recapitulatif")
@requires_profile(PEC)
def pec_summary_page() -> Response:
    """« Récapitulatif des prises en charge »: by situation, count and amounts, the total,
    the approval rate and the average time to a decision over the period."""
    form = SummaryCriteria(formdata=request.args)
    summary = pec_summary(form.periode.data) if form.validate() else None
    return render("cnss/pec_summary.html", form=form, summary=summary)
