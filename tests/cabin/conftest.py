import pytest

from tests.cabin.bench import Bench, provisioned


@pytest.fixture
def bench(tmp_path, tmp_path_factory):
    b = Bench(provisioned(tmp_path, tmp_path_factory.getbasetemp()))
    yield b
    b.close()
