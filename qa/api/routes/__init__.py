"""Routers, one per area of the contract."""
