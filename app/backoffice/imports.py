"""« Imports » of the back office (CORE-11, CORE-13): the agent picks one of the
insurer's importers, downloads its template, uploads a file, reads the preview
(counts, per-row errors, first rows), then « Valider l'import ». The check and
the commit run in the background (``import_jobs``); the job's page polls them."""
from __future__ import annotations

from flask import Flask, Response, abort, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired

from app import imports as files
from app import tabular
from app.backoffice import AGENT_PROFILE, backoffice_bp, current_insurer, import_jobs
from app.exports import content_disposition
from app.forms import ConfirmForm
from app.htmx import redirect_to, render
from app.imports import ImportRefused, Importer
from app.spaces import requires_profile

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(FlaskForm):
    """The file to import: an Excel workbook or a CSV file."""

    file = FileField(
        _l("Fichier à importer (.xlsx ou .csv)"),
        validators=[
            FileRequired(message=_l("Choisissez le fichier à importer.")),
            FileAllowed(["xlsx", "csv"], message=_l("Seuls les fichiers Excel (.xlsx) et CSV (.csv) sont acceptés.")),
        ],
        render_kw={"accept": ".xlsx,.csv"},
    )


def _importer(code: str) -> Importer:
    """The importer ``code`` of the back office's insurer; another insurer's is 404."""
    importer = files.importer_of(current_insurer(), code)
    if importer is None:
        abort(404)
    return importer


@backoffice_bp.get("/imports")
@requires_profile(AGENT_PROFILE)
def imports():
    """The insurer's importers and its latest imports."""
    import_jobs.purge_expired()
    insurer = current_insurer()
    importers = files.importers_of(insurer)
    return render(
        "backoffice/imports.html",
        importers=importers,
        jobs=import_jobs.recent_jobs(insurer),
        titles={i.code: i.title for i in importers},
    )


@backoffice_bp.route("/imports/<code>", methods=["GET", "POST"])
@requires_profile(AGENT_PROFILE)
def import_upload(code: str):
    """Upload a file for one importer; a refused file is said next to the field, nothing kept."""
    importer = _importer(code)
    form = UploadForm()
    if form.validate_on_submit():
        try:
            job = import_jobs.start(importer, form.file.data, current_user._get_current_object(), request.remote_addr)
        except ImportRefused as refused:
            form.file.errors = [str(refused)]
        else:
            return redirect_to(url_for("backoffice.import_job", token=job.token))
    import_jobs.purge_expired()
    return render(
        "backoffice/imports_upload.html",
        status=422 if form.errors else 200,
        importer=importer,
        form=form,
        limit=tabular.size_label(tabular.max_bytes()),
    )


@backoffice_bp.get("/imports/<code>/modele.xlsx")
@requires_profile(AGENT_PROFILE)
def import_template(code: str):
    """The importer's template: the header row, and a sheet explaining each column."""
    importer = _importer(code)
    response = Response(files.template_workbook(importer), mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = content_disposition(f"modele-{importer.code}.xlsx")
    return response


@backoffice_bp.get("/imports/jobs/<token>")
@requires_profile(AGENT_PROFILE)
def import_job(token: str):
    """The preview, the progress or the outcome of an import; its partial is polled while it runs."""
    import_jobs.purge_expired()
    job = import_jobs.job_of(current_insurer(), token)
    importer = _importer(job.importer)
    errors = job.row_errors()
    return render(
        "backoffice/imports_job.html",
        job=job,
        importer=importer,
        errors=errors,
        error_cells={f"{e.line}|{e.column}" for e in errors},
        done=import_jobs.rows_done(job) if job.status == "running" else job.total,
        form=ConfirmForm(),
        preview_rows=job.preview.get("rows", []) if job.preview else [],
    )


@backoffice_bp.post("/imports/jobs/<token>/valider")
@requires_profile(AGENT_PROFILE)
def import_confirm(token: str):
    """« Valider l'import »: write the checked file, in the background, once."""
    job = import_jobs.job_of(current_insurer(), token)
    form = ConfirmForm()
    if form.validate_on_submit():
        import_jobs.confirm(job)
    return redirect_to(url_for("backoffice.import_job", token=job.token))


def init_app(app: Flask) -> None:
    """Collect the plugins' importers and start the import threads."""
    files.init_app(app)
    import_jobs.init_app(app)
