"""The unit tier's socket guard (tests/unit/conftest.py) is on."""
import socket

import pytest
from pytest_socket import SocketBlockedError


def test_an_internet_socket_is_refused_in_the_unit_tier() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
