"""Billing: Stripe plans, Checkout and the portal, webhook events, entitlements."""
