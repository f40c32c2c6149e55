"""Model server: serves one registry model version and records every
prediction on the Redis primary before answering. See config.py for the
environment variables and app.py for the endpoints."""
