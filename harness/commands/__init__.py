"""The `failover` subcommands, one module per group."""
