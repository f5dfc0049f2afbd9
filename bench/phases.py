"""One measured phase of the benchmark, in its own process:
``python -m bench.phases import|export|baseline URL SCHEMA WORKDIR WORKBOOK ROWS``.
Prints a JSON line: rows, seconds (wall clock and this process's CPU), peak resident
memory and its growth during the phase."""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from flask import Flask
from openpyxl import Workbook
from sqlalchemy import select

from app import create_app
from app.exports import YIELD_PER, export_rows
from app.extensions import db
from app.imports import commit
from app.lists import Column, fetch
from tests.plugin_exemple.importers import STATEMENTS
from tests.plugin_exemple.models import Statement

COLUMNS = [
    Column("member_number", "Numéro d'adhérent"),
    Column("number", "N° de relevé"),
    Column("paid_on", "Date de paiement", "date"),
    Column("label", "Libellé"),
    Column("amount", "Montant (DH)", "amount"),
    Column("status", "Situation"),
]


def resident_mb() -> float:
    """The process's resident memory now (MiB)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_mb() -> float:
    """The process's peak resident memory so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def application(url: str, schema: str, workdir: Path) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": url,
        "PLUGIN_MODULES": ["tests.plugin_exemple"],
        "IMPORT_FOLDER": str(workdir / "imports"),
        "OUTBOX_SEND_IMMEDIATELY": False,
    }
    if schema:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
    return create_app(config)


def import_rows(workdir: Path, workbook: Path) -> int:
    db.create_all()
    result = commit(STATEMENTS, workbook, "bench")
    if not result.committed:
        raise SystemExit(f"import refused: {result.errors[:5]}")
    return result.written


def statements():
    """The statements, streamed from the database in chunks, as the list exports read them."""
    return fetch(select(Statement).order_by(Statement.id), yield_per=YIELD_PER)


def export_through_app(workdir: Path, workbook: Path) -> int:
    with (workdir / "export.xlsx").open("wb") as file:
        return export_rows(file, COLUMNS, statements(), title="Relevés")


def export_baseline(workdir: Path, workbook: Path) -> int:
    """The same rows with bare openpyxl: a write-only sheet, a header, the values."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Relevés")
    sheet.append([c.label for c in COLUMNS])
    count = 0
    for row in statements():
        sheet.append([row.member_number, row.number, row.paid_on, row.label, row.amount, row.status])
        count += 1
    with (workdir / "baseline.xlsx").open("wb") as file:
        book.save(file)
    return count


PHASES = {"import": import_rows, "export": export_through_app, "baseline": export_baseline}


def main(phase: str, url: str, schema: str, workdir: str, workbook: str, rows: str) -> None:
    app = application(url, schema, Path(workdir))
    with app.app_context():
        if phase != "import":
            db.session.scalar(select(Statement.id).limit(1))  # connect before the clock starts
        start_mb = resident_mb()
        clock, cpu = time.perf_counter(), time.process_time()
        done = PHASES[phase](Path(workdir), Path(workbook))
        seconds, cpu_seconds = time.perf_counter() - clock, time.process_time() - cpu
    if done != int(rows):
        raise SystemExit(f"{phase}: {done} rows instead of {rows}")
    print(json.dumps({"rows": done, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak_mb(), "growth_mb": peak_mb() - start_mb}))


if __name__ == "__main__":
    main(*sys.argv[1:])
