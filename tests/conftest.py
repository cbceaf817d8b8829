import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest

from tests.fakedist import PluginSandbox, private_registry


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tests are small; one thread avoids oversubscribing shared CI cores."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def plugins(tmp_path):
    """A private plugin registry for one test: the installed plugins plus whatever the test adds or installs.

    ``plugins.add(kind, name, cls)`` registers a class; ``plugins.install(dist, entry_points, modules)`` installs a
    throwaway distribution (``plugins.env`` shows it to a `fer` subprocess). ``get_registry()`` returns it until
    the test ends; module-scoped fixtures use ``tests.fakedist.private_registry`` directly.
    """
    with private_registry(tmp_path / "site") as sandbox:
        yield sandbox


@pytest.fixture
def bare_plugins(tmp_path) -> PluginSandbox:
    """Like ``plugins``, but starting empty: only what the test installs or adds is registered."""
    with private_registry(tmp_path / "bare-site", installed=False) as sandbox:
        yield sandbox
