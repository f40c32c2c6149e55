"""Rollout guardian: guards the champion model alias and canaries candidates (see config.py)."""
