"""Builders of real Lambda events, shaped as AWS sends them."""
