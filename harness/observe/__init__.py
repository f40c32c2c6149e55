"""Signals from the stack itself: HAProxy server state, health endpoints."""
