"""The contract suite's pytest plugin lives in the library; the root conftest only loads it."""

pytest_plugins = ["zstack_contract.pytest.plugin"]
