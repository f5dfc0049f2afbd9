"""The widgets of the space's dashboard (« Accueil »), one per profile's daily question:
each is a small page whose ``content`` block HTMX loads into its box. Their figures come
from the full pages' own queries (``pec_summary``, ``reimbursement_summary``), for this year."""
from __future__ import annotations

from datetime import date

from flask import Response

from app.extensions import db
from app.htmx import render
from app.lists import local_today
from app.spaces import requires_profile
from plugins.cnss.lists_payments import EMISSIONS
from plugins.cnss.models import BankTransfer
from plugins.cnss.pec_summary import pec_summary
from plugins.cnss.scoping import scoped
from plugins.cnss.space import PAYMENTS, PEC, pages
from plugins.cnss.views_payments import reimbursement_summary
from plugins.cnss.views_pec import RightsForm

#: « Derniers virements »: how many of the latest transfers the widget shows
LATEST_TRANSFERS = 5
#: its columns, those of « Détail des paiements par date d'émission » (same labels, formats, links)
TRANSFER_COLUMNS = tuple(EMISSIONS.column(key) for key in ("issued_on", "amount", "detail"))


def this_year() -> dict[str, date]:
    """The widgets' period: 1 January to 31 December of the current year (the portal's
    time zone), in the ``{"du", "au"}`` shape of a period criterion."""
    year = local_today().year
    return {"du": date(year, 1, 1), "au": date(year, 12, 31)}


@pages.get("/widgets/droits")
@requires_profile(PEC)
def rights_widget() -> Response:
    """« Droits assurés »: the N°CNSS / CNI form, posted to the rights page itself."""
    return render("cnss/widget_rights.html", form=RightsForm())


@pages.get("/widgets/prises-en-charge")
@requires_profile(PEC)
def pec_widget() -> Response:
    """« Prises en charge »: this year's PEC by situation and the approval rate, as the
    « Récapitulatif des prises en charge » counts them over the same period."""
    period = this_year()
    return render("cnss/widget_pec.html", summary=pec_summary(period), period=period)


@pages.get("/widgets/dossiers-remboursement")
@requires_profile(PAYMENTS)
def dr_widget() -> Response:
    """« Dossiers de remboursement »: this year's DR by situation with a bar chart, as the
    « Récapitulatif du suivi des dossiers de remboursement » counts them."""
    period = this_year()
    lines = reimbursement_summary(period)
    return render("cnss/widget_dr.html", lines=lines, total=sum(line.count for line in lines), period=period)


@pages.get("/widgets/virements")
@requires_profile(PAYMENTS)
def transfers_widget() -> Response:
    """« Derniers virements »: the establishment's latest transfers, newest first, in the
    order of « Détail des paiements par date d'émission » (date, then the latest recorded)."""
    latest = scoped(BankTransfer).order_by(BankTransfer.issued_on.desc(), BankTransfer.id.desc()).limit(LATEST_TRANSFERS)
    return render("cnss/widget_transfers.html", transfers=list(db.session.scalars(latest)), columns=TRANSFER_COLUMNS)
