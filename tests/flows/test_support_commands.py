"""/support and /paysupport: the support contact, if set, and how to cancel or get a refund."""

from __future__ import annotations

import pytest

from tests.flows.lifecycle_helpers import ANN
from tests.support.harness import Harness


@pytest.mark.parametrize("command", ["/support", "/paysupport"])
async def test_support_names_the_contact_and_how_to_cancel_or_get_a_refund(
    make_harness: object, command: str
) -> None:
    harness = await make_harness(support_contact="@signaldesk_help")  # type: ignore[operator]
    await harness.send_text(ANN, command)
    text = harness.last_reply(ANN).text
    assert "@signaldesk_help" in text
    assert str(ANN) in text
    assert "/manage" in text and "Refund" in text


async def test_support_without_a_contact_still_says_how_to_cancel(harness: Harness) -> None:
    await harness.send_text(ANN, "/paysupport")
    text = harness.last_reply(ANN).text
    assert "has not set a support contact" in text
    assert "/manage" in text
