"""Request and response contracts of the HTTP API (api.md), kept apart from the domain entity."""
