"""The invoice API's routes, one Powertools ``Router`` per resource (``handler.py`` includes them)."""
