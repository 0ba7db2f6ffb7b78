"""Benchmarks: scripts that print figures (run with ``python -m bench.<name>``; ``make bench`` runs them all)."""
