import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tests are small; one thread avoids oversubscribing shared CI cores."""
    import torch

    torch.set_num_threads(1)
