"""``single_thread``: one torch thread for a module's tests. Import it into a test module or a
conftest to apply it there (it is autouse)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Tiny tensors: one thread is fastest, and does not thrash when the two cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
