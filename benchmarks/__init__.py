"""`make bench`: each module here exposes ``run() -> dict[str, float]``; the figures are merged
into ``benchmarks/results.json`` (a flat ``{"name": number}`` object) and printed as a table."""
