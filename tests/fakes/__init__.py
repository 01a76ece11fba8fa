"""In-memory stand-ins for the ports of ``invoicing.services.ports``.

Each store here passes the same contract tests as its DynamoDB implementation
(``tests/contract``), so a service tested against a fake behaves the same against the real store.
Outside systems have one fake each: Razorpay is the local stand-in (``infra/local``, driven through
the real adapter by ``tests/support/razorpay.py``); EventBridge, SQS and SES are recorders.
"""
