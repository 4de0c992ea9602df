"""The staff console: a FastAPI app over the same ``bot/`` services and database as the assistant."""
