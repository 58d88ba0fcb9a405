"""Page tests keep fitted maps in a temporary folder, never beside the shipped checkpoints.
Each runs whole pages through Streamlit, so all are `slow` (left out of `make test-fast`)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_map_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAE_EXPLORER_MAP_CACHE", str(tmp_path_factory.mktemp("map_cache")))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/app/" in item.nodeid:
            item.add_marker(pytest.mark.slow)
