"""What the Telegram webhook route and the dispatcher's fault middleware agree on: the
workflow-data key the route passes, and the outcome the middleware fills in (should
Telegram send the update again?). Here, below both adapters, so that webapp/ does not
reach into a chat middleware for it."""

from __future__ import annotations

from dataclasses import dataclass

WEBHOOK_OUTCOME = "webhook_outcome"  # workflow-data key the webhook route passes


@dataclass
class WebhookOutcome:
    """Filled in while a webhook update is handled: should Telegram send it again?"""

    retry: bool = False
