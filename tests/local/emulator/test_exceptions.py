"""The typed errors: code, status, message and context on the wire."""

from __future__ import annotations

import pytest

from local.emulator import exceptions
from local.emulator.exceptions import NimbleError
from tests.support.emulator import SEVEN


@pytest.mark.parametrize(("code", "status"), SEVEN.items())
def test_each_modeled_error_carries_its_code_status_message_and_context(code: str, status: int) -> None:
    cls = getattr(exceptions, code)
    assert issubclass(cls, NimbleError)
    assert (cls.code, cls.status) == (code, status)
    error = cls("boom", {"n": 1})
    assert error.message == "boom"
    assert error.context == {"n": "1"}  # the model's context is map<string, string>
    assert error.to_body() == {"message": "boom", "code": code, "context": {"n": "1"}}
    assert cls("plain").to_body() == {"message": "plain", "code": code}


def test_the_modeled_errors_are_exactly_the_seven() -> None:
    assert {code: cls.status for code, cls in exceptions.MODELED_ERRORS.items()} == SEVEN
