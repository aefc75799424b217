"""Web pages and small HTTP endpoints beside the API (development endpoints for now)."""
