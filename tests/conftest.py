import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DESIGNS = sorted((ROOT / "designs").glob("*.yaml"))


@pytest.fixture
def root():
    return ROOT
