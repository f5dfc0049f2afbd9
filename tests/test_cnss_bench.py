"""``make bench-cnss`` (``python -m bench cnss``) is not a timed test: this only keeps it
working end to end on a few hundred DR, and checks that it prints both figures, the ratio
and that the plans use the inpe-leading indexes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_cnss_benchmark_runs_end_to_end_on_a_few_hundred_files():
    done = subprocess.run(
        [sys.executable, "-m", "bench", "cnss", "--dr", "300", "--repeat", "2"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        env=os.environ.copy(),
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "SQLite : 300 DR" in out
    for screen in ("Dossiers de remboursement, 1re page (situation + dépôt)", "Dossiers de remboursement, 1re page (retourné + 90 jours)",
                   "Récapitulatif des dossiers de remboursement"):
        line = next(line for line in out.splitlines() if line.strip().startswith(screen))
        assert "application" in line and "SQL seul" in line and "rapport" in line
    sqlite = out.split("PostgreSQL :")[0]
    assert sqlite.count("index ix_cnss_dr_inpe_… à chaque requête") == 3 and "ATTENTION" not in sqlite
    if os.environ.get("TEST_DATABASE_URL"):
        # 330 rows: PostgreSQL may rightly scan the table; only that the plans are printed
        assert "PostgreSQL : 300 DR" in out and "cost=" in out
