"""The local stack (docs/local.md): moto for AWS, an API Gateway stand-in, a Razorpay stand-in.

``python -m infra.local`` (``make run``) starts it; ``python -m infra.local.tokens`` (``make token``)
prints a bearer token for it.
"""
