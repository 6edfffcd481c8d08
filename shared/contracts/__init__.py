"""Public message contracts: topic names and versioned pydantic payloads, one module per producer."""
