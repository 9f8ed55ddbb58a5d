"""What the identity modules share: the refusals a sign-in gets."""

from __future__ import annotations

NOT_AUTHORIZED = "You are not authorized. Please contact admin."


SUBSCRIPTION_EXPIRED = "Your institute's subscription has expired."
