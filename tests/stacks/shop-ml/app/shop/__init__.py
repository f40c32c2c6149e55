"""shop-ml model server: scores 4-feature inputs and records every prediction in PostgreSQL."""
