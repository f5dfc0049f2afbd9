"""Import jobs of the back office: the uploaded file kept in the instance folder
under a random name, its check and its commit run in a background thread, and
an ``ImportJob`` row that the job's page polls (status, counts, errors).

Why a thread: a file of 100,000 rows takes longer to read and write than a
request should last (a proxy or gunicorn would cut it), and the agent should
see it progress. The job's state lives in the database, so any worker answers
the polling; the progress while the rows are written goes to a small file next
to the upload (the import's own transaction cannot publish it, and SQLite
allows one writer at a time)."""
from __future__ import annotations

import logging
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app
from flask_babel import gettext as _
from sqlalchemy import JSON, ForeignKey, Index, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import FileStorage

from app import imports
from app.extensions import db
from app.imports import ImportRefused, Importer, RowError
from app.models import Account, utcnow

log = logging.getLogger(__name__)

EXECUTOR_KEY = "portal.import_executor"
#: a job still checking or running after this long was cut short (its process stopped)
STALE_AFTER = timedelta(hours=1)

#: checking → ready | invalid; ready → running → done | failed; a waiting file → expired
PENDING = ("checking", "running")


class ImportJob(db.Model):
    """An uploaded import file and what became of it (« Imports » of the back office)."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_insurer_created", "insurer", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: random, in the job's URL
    token: Mapped[str] = mapped_column(String(64), unique=True)
    insurer: Mapped[str] = mapped_column(String(40))
    importer: Mapped[str] = mapped_column(String(60))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str | None] = mapped_column(String(64))
    #: the name the agent's file had (shown, never used as a path)
    filename: Mapped[str] = mapped_column(String(255), default="")
    #: the file's random name in the instance folder
    stored: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default="checking")
    total: Mapped[int] = mapped_column(default=0)
    valid: Mapped[int] = mapped_column(default=0)
    written: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    #: [[line, column, message], …], the first ``imports.MAX_ERRORS``
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: {"rows": [[line, [cells…]], …], "unknown": [headers…], "absent": [headers…]}
    preview: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def pending(self) -> bool:
        """True while the file is being checked or written."""
        return self.status in PENDING

    def row_errors(self) -> list[RowError]:
        return [RowError(*item) for item in self.errors or []]


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


def folder() -> Path:
    """Where uploads wait for their commit (deleted after it, or after an hour):
    ``IMPORT_FOLDER``, by default ``instance/imports``."""
    return Path(current_app.config.get("IMPORT_FOLDER") or Path(current_app.instance_path) / "imports")


def stored_path(job: ImportJob) -> Path:
    """Where the job's file is; the name comes from the job, never from a form."""
    return folder() / job.stored


def _progress_path(job: ImportJob) -> Path:
    return folder() / f"{job.stored}.progress"


def rows_done(job: ImportJob) -> int:
    """How many rows the running commit has gone through."""
    try:
        return int(_progress_path(job).read_text())
    except (OSError, ValueError):
        return 0


def _report_progress(path: Path, done: int) -> None:
    partial = path.with_suffix(".tmp")
    partial.write_text(str(done))
    os.replace(partial, path)


def _delete_files(job: ImportJob) -> None:
    for path in (stored_path(job), _progress_path(job)):
        path.unlink(missing_ok=True)


def keep_minutes() -> int:
    return int(current_app.config.get("IMPORT_KEEP_MINUTES") or 60)


def purge_expired() -> None:
    """Delete the files left waiting longer than ``IMPORT_KEEP_MINUTES`` and mark their jobs
    expired; mark as failed the jobs whose process stopped while they ran."""
    now = utcnow()
    limit = now - timedelta(minutes=keep_minutes())
    for job in db.session.scalars(select(ImportJob).where(ImportJob.status == "ready", ImportJob.created_at < limit)):
        _delete_files(job)
        job.status = "expired"
    started = func.coalesce(ImportJob.started_at, ImportJob.created_at)
    for job in db.session.scalars(select(ImportJob).where(ImportJob.status.in_(PENDING), started < now - STALE_AFTER)):
        _delete_files(job)
        job.status = "failed"
        job.error_count = 1
        job.errors = [[0, "", _("L'import a été interrompu ; aucune ligne n'a été enregistrée.")]]
        job.finished_at = now
    db.session.commit()
    # files whose job is over or gone (a crash between saving the file and recording the job)
    waiting = select(ImportJob.stored).where(ImportJob.status.in_(("checking", "ready", "running")))
    kept = {Path(name).stem for name in db.session.scalars(waiting)}
    cutoff = (now - STALE_AFTER).timestamp()
    for path in folder().iterdir() if folder().is_dir() else ():
        if path.name.split(".")[0] not in kept and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------
# The jobs
# --------------------------------------------------------------------------


def start(importer: Importer, upload: FileStorage, account: Account, address: str | None) -> ImportJob:
    """Keep the upload under a random name, refuse it at once when its type, size or
    headers are wrong (``ImportRefused``, nothing kept), then check every row in the background."""
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ImportRefused(_("Seuls les fichiers Excel (.xlsx) et CSV (.csv) sont acceptés."))
    stored = f"{secrets.token_hex(16)}{suffix}"
    folder().mkdir(parents=True, exist_ok=True)
    path = folder() / stored
    upload.save(path)
    try:
        imports.check_file(importer, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    job = ImportJob(
        token=secrets.token_urlsafe(24),
        insurer=importer.insurer,
        importer=importer.code,
        account_id=account.id,
        actor=account.login,
        address=address,
        filename=(upload.filename or "")[:255],
        stored=stored,
        status="checking",
    )
    db.session.add(job)
    db.session.commit()
    _submit(_check_job, job.id)
    return job


def confirm(job: ImportJob) -> bool:
    """« Valider l'import »: start the commit of a checked file, once (two clicks, or two
    agents, start it once: the status changes from ready to running in one UPDATE)."""
    fresh = ImportJob.created_at >= utcnow() - timedelta(minutes=keep_minutes())
    changed = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.status == "ready", fresh)
        .values(status="running", started_at=utcnow())
    ).rowcount
    db.session.commit()
    if changed:
        _submit(_commit_job, job.id)
    return bool(changed)


def job_of(insurer: str, token: str) -> ImportJob:
    """The job ``token`` of ``insurer`` (404 for another insurer's): the one place jobs are looked up."""
    job = db.session.scalar(select(ImportJob).where(ImportJob.token == token, ImportJob.insurer == insurer))
    if job is None or imports.importer_of(insurer, job.importer) is None:
        abort(404)
    return job


def recent_jobs(insurer: str, limit: int = 10) -> list[ImportJob]:
    """The insurer's latest imports, newest first."""
    return list(
        db.session.scalars(
            select(ImportJob).where(ImportJob.insurer == insurer).order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit)
        )
    )


def _submit(task: Any, job_id: int) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app.extensions[EXECUTOR_KEY].submit(_in_app_context, app, task, job_id)


def _in_app_context(app: Flask, task: Any, job_id: int) -> None:
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        if job is None:
            return
        try:
            task(job)
        except Exception:
            log.exception("import job %s failed", job_id)
            db.session.rollback()
            job = db.session.get(ImportJob, job_id)
            job.status = "failed" if job.status == "running" else "invalid"
            job.error_count = 1
            job.errors = [[0, "", _("Erreur inattendue pendant l'import ; aucune ligne n'a été enregistrée.")]]
            job.finished_at = utcnow()
            _delete_files(job)
            db.session.commit()


def _importer(job: ImportJob) -> Importer:
    importer = imports.importer_of(job.insurer, job.importer)
    if importer is None:
        raise LookupError(f"importer {job.insurer}/{job.importer} is no longer enabled")
    return importer


def _errors(errors: list[RowError]) -> list[list[Any]]:
    return [[e.line, e.column, e.message] for e in errors]


def _check_job(job: ImportJob) -> None:
    """Read and check every row; keep the counts, the errors and the first rows."""
    try:
        found = imports.preview(_importer(job), stored_path(job))
    except ImportRefused as refused:
        job.status, job.error_count, job.errors = "invalid", 1, [[0, "", str(refused)]]
        _delete_files(job)
    else:
        job.total, job.valid, job.error_count = found.total, found.valid, found.error_count
        job.errors = _errors(found.errors)
        job.preview = {
            "rows": [[row.line, list(row.cells)] for row in found.rows],
            "unknown": found.unknown_headers,
            "absent": found.absent_columns,
        }
        job.status = "ready" if found.ok else "invalid"
        if not found.ok:
            _delete_files(job)
    job.finished_at = utcnow()
    db.session.commit()


def _commit_job(job: ImportJob) -> None:
    """Write every row in one transaction, reporting progress; the file is deleted afterwards."""
    importer, path, progress = _importer(job), stored_path(job), _progress_path(job)
    account = db.session.get(Account, job.account_id) if job.account_id else None
    job_id = job.id
    try:
        result = imports.commit(
            importer,
            path,
            job.actor,
            account=account,
            filename=job.filename,
            address=job.address,
            progress=lambda done: _report_progress(progress, done),
        )
    except ImportRefused as refused:
        job = db.session.get(ImportJob, job_id)
        job.status, job.error_count, job.errors = "failed", 1, [[0, "", str(refused)]]
    else:
        job = db.session.get(ImportJob, job_id)
        job.total, job.written, job.error_count = result.total, result.written, result.error_count
        job.errors = _errors(result.errors)
        job.status = "done" if result.committed else "failed"
    job.finished_at = utcnow()
    _delete_files(job)
    db.session.commit()


def init_app(app: Flask) -> None:
    """The threads that check and commit the uploaded files (``IMPORT_THREADS``, default 2)."""
    app.extensions[EXECUTOR_KEY] = ThreadPoolExecutor(
        max_workers=int(app.config.get("IMPORT_THREADS") or 2), thread_name_prefix="import"
    )
