"""Fixtures shared by the API-level test modules."""
import pytest

import fastnn


@pytest.fixture
def numpy_backend():
    """Run on the NumPy backend (no JIT compiling) and restore the selection afterwards."""
    previous = fastnn.get_backend()
    fastnn.set_backend("numpy")
    yield
    fastnn.set_backend(previous)
