"""The key guard's start-up checks: settings an operator can get wrong in a way that opens the service."""

from __future__ import annotations

import pytest

from qa.api.security import Guard
from qa.config import Settings
from qa.errors import InvalidInput


def test_a_key_both_full_and_public_is_refused_without_naming_it() -> None:
    settings = Settings(api_keys=["shared-secret", "admin"], public_keys=["shared-secret:default"])
    with pytest.raises(InvalidInput) as raised:
        Guard(settings)
    assert "QA_API_KEYS" in raised.value.message and "QA_PUBLIC_KEYS" in raised.value.message
    assert "shared-secret" not in raised.value.message
    Guard(Settings(api_keys=["admin"], public_keys=["widget:default"]))
