"""The benchmark of imports and exports (``make bench``, ``python -m bench``): numbers
to read, not a timed test. ``bench.phases`` runs one measured phase in its own process."""
