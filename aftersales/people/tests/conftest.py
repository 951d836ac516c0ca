"""The workshop's floor (stores A and B, technicians with shifts, bays) for the people tests."""

from aftersales.workshop.tests.conftest import floor  # noqa: F401  (the fixture)
