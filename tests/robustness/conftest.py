"""The robustness runs use the same real agency server fixtures as the integration tests."""

from tests.integration.conftest import agency_sim, start_agency_sim  # noqa: F401
