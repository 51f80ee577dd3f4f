def pytest_configure(config):
    config.addinivalue_line("markers", "slow: builds wheels or environments")
