"""Composition root: builds services from settings, clients and adapters, once per container.

One module per function (``api``, ``webhook``, ``sweep``, ``pdf``) on top of ``common``. Nothing
here runs at import time; handlers call these factories inside ``lambda_handler``.
"""
