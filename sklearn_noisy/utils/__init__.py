"""Private helpers: validation, seeding, fast batching, building skorch nets."""
