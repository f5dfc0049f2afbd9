"""``python -m bench [--rows N]``: import N generated statements (« relevés ») from an
.xlsx through ``app.imports``, export N rows through ``app.exports``, and the same
export written by bare openpyxl (write-only) as the baseline, on a temporary SQLite
database and, when ``TEST_DATABASE_URL`` is set, on PostgreSQL. Prints rows per
second, CPU time, peak memory and the export's ratios to the baseline.

Each phase runs in a fresh process (``bench.phases``), so that its peak memory
(``getrusage``'s maximum resident set) is its own. The two databases run side by
side, one core each, to stay within about three minutes on two cores; their CPU
times are the numbers to compare (``--sequential`` for clean wall-clock times)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import create_engine, text

HEADER = ["Numéro d'adhérent", "N° de relevé", "Date de paiement", "Libellé", "Montant (DH)", "Situation"]
LABELS = ("Consultation", "Radiologie", "Analyses", "Pharmacie", "Hospitalisation", "Dentaire")
STATUSES = ("Payé", "En cours", "Rejeté")
PHASES = (
    ("import", "import (app.imports.commit)"),
    ("export", "export (app.exports.export_rows)"),
    ("baseline", "référence (openpyxl write-only)"),
)


@dataclass(frozen=True)
class Measure:
    """What one phase did: rows, seconds, peak resident memory and its growth during the phase (MiB)."""

    rows: int
    seconds: float
    #: this process's CPU time: what the phase costs on a machine shared with other work
    cpu_seconds: float
    peak_mb: float
    growth_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def number(value: float, places: int = 0) -> str:
    """« 12 345,6 »: French digits."""
    return f"{value:,.{places}f}".replace(",", "\u202f").replace(".", ",")


def generate(path: Path, rows: int) -> None:
    """An .xlsx as an insurer's system would send it: real dates and amounts, one sheet."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Relevés")
    sheet.append(HEADER)
    start = date(2024, 1, 1)
    for i in range(rows):
        sheet.append(
            [
                str(1000 + i % 5000),
                f"R{i:09d}",
                start + timedelta(days=i % 700),
                LABELS[i % len(LABELS)],
                Decimal(10000 + (i * 7919) % 900000) / 100,
                STATUSES[i % len(STATUSES)],
            ]
        )
    workbook.save(path)


def run_phase(phase: str, url: str, schema: str | None, workdir: Path, workbook: Path, rows: int) -> Measure:
    """Run one phase in a child process and read its measure (JSON on its last line)."""
    command = [sys.executable, "-m", "bench.phases", phase, url, schema or "", str(workdir), str(workbook), str(rows)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"la phase « {phase} » a échoué")
    return Measure(**json.loads(done.stdout.strip().splitlines()[-1]))


def databases(workdir: Path) -> list[tuple[str, str, str | None]]:
    """(name, URL, schema): a SQLite file, and a fresh PostgreSQL schema when TEST_DATABASE_URL is set."""
    found: list[tuple[str, str, str | None]] = [("SQLite", f"sqlite:///{workdir / 'bench.sqlite'}", None)]
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        found.append(("PostgreSQL", url, "bench_" + uuid.uuid4().hex[:12]))
    return found


def _engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def report(name: str, measures: dict[str, Measure]) -> None:
    print(f"\n{name}")
    for phase, label in PHASES:
        m = measures[phase]
        print(
            f"  {label:<34}{number(m.rows):>9} lignes {number(m.seconds, 1):>6} s (CPU {number(m.cpu_seconds, 1)} s) "
            f"{number(m.rate):>7} lignes/s   pic {number(m.peak_mb)} Mo (+{number(m.growth_mb)} Mo pendant la phase)"
        )
    export, baseline = measures["export"], measures["baseline"]
    print(
        f"  export / référence : {number(export.seconds / baseline.seconds, 2)} × le temps "
        f"({number(export.cpu_seconds / baseline.cpu_seconds, 2)} × le CPU), "
        f"{number(export.peak_mb / baseline.peak_mb, 2)} × le pic de mémoire"
    )


def pipeline(name: str, url: str, schema: str | None, workdir: Path, workbook: Path, rows: int) -> dict[str, Measure]:
    """The three phases on one database, one after the other, in a folder of their own."""
    folder = workdir / name.lower()
    folder.mkdir()
    if schema:
        with _engine(url).begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        return {phase: run_phase(phase, url, schema, folder, workbook, rows) for phase, _label in PHASES}
    finally:
        if schema:
            with _engine(url).begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["cnss"]:  # ``python -m bench cnss``: the CNSS lists on a million DR
        from bench.cnss import main as cnss_main

        return cnss_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to import and export (default 100000)")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="one database after the other (by default SQLite and PostgreSQL run side by side, one core each)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"Banc d'essai : {number(args.rows)} relevés, {os.cpu_count()} cœur(s), Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="portail-bench-") as tmp:
        workdir = Path(tmp)
        workbook = workdir / "releves.xlsx"
        clock = time.perf_counter()
        generate(workbook, args.rows)
        print(f"Fichier généré en {number(time.perf_counter() - clock, 1)} s ({number(workbook.stat().st_size / 2**20, 1)} Mo)")
        targets = databases(workdir)
        side_by_side = len(targets) > 1 and not args.sequential
        if side_by_side:
            print("Les bases tournent côte à côte (--sequential pour l'une après l'autre) : comparez les temps CPU.")
        with ThreadPoolExecutor(max_workers=len(targets) if side_by_side else 1) as pool:
            runs = {name: pool.submit(pipeline, name, url, schema, workdir, workbook, args.rows) for name, url, schema in targets}
            for name, run in runs.items():
                report(name, run.result())
    print(f"\nDurée totale : {number(time.perf_counter() - started)} s")


if __name__ == "__main__":
    main()
