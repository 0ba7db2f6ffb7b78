"""Integration fixtures: the same services, clock and demo data as the end-to-end tests."""

from tests.e2e.conftest import clock, demo, services  # noqa: F401
