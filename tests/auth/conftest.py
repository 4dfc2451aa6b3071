import pytest
from authkit import Req, load_captures


@pytest.fixture(scope="session")
def captures() -> list[Req]:
    return load_captures()
