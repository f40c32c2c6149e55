"""Faults at the target's entry point: the harness, as a client, sends what clients should not."""
