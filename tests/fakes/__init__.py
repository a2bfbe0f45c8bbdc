"""In-memory platforms behind the ports in shared/ports.py, for tests that judge step logic only.

Each fake holds the state a step changes (orders, products, stock, statuses), logs every port call, and can be
told to raise (`fail`). tests/contracts/ports/ holds them to the same behaviour as the real connectors.
"""

from tests.fakes.base import Call, FakePlatform
from tests.fakes.commerce import FakeCommerce
from tests.fakes.warehouse import FakeWarehouse

__all__ = ["Call", "FakeCommerce", "FakePlatform", "FakeWarehouse"]
