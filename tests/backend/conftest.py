from tests.torch_threads import single_thread  # noqa: F401  (autouse)
