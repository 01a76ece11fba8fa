import json

import pytest

from invoicing.config import ConfigurationError, InvoiceSettings, OutboxSettings, load

SUPPLIER = {
    "name": "Shakti Cloud Compute Pvt Ltd",
    "gstin": "27AAPFU0939F1ZV",
    "state_code": "27",
    "address": {"line1": "Baner", "city": "Pune", "state": "Maharashtra", "postal_code": "411045"},
}
ENV = {
    "INVOICES_TABLE": "t",
    "PDF_BUCKET": "b",
    "RENDER_QUEUE_URL": "q",
    "RAZORPAY_SECRET_NAME": "s",
    "CURSOR_SECRET_NAME": "c",
    "SUPPLIER_JSON": json.dumps(SUPPLIER),
    "REMINDER_DAYS_PAST_DUE": "3,7,14",
    "INVOICE_NUMBER_PREFIX": "GPU",
}


def test_settings_are_read_and_typed_from_the_environment():
    settings = load(InvoiceSettings, ENV)

    assert settings.reminder_days_past_due == (3, 7, 14)
    assert settings.supplier_json.gstin == "27AAPFU0939F1ZV"
    assert settings.invoice_number_prefix == "GPU"
    assert settings.payment_terms_days == 15


def test_a_missing_resource_name_fails_loudly_naming_every_missing_variable():
    env = {k: v for k, v in ENV.items() if k not in ("INVOICES_TABLE", "PDF_BUCKET")}

    with pytest.raises(ConfigurationError) as error:
        load(InvoiceSettings, env)

    assert "INVOICES_TABLE" in str(error.value) and "PDF_BUCKET" in str(error.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SUPPLIER_JSON", json.dumps({**SUPPLIER, "gstin": "27AAPFU0939F1ZO"})),
        ("INVOICE_NUMBER_PREFIX", "inv"),
        ("INVOICE_NUMBER_PREFIX", "TOOLONG"),
        ("REMINDER_DAYS_PAST_DUE", "3,x"),
    ],
)
def test_an_invalid_value_is_a_configuration_error(name, value):
    with pytest.raises(ConfigurationError, match=name):
        load(InvoiceSettings, {**ENV, name: value})


def test_the_dispatcher_needs_every_side_effect_s_resource():
    env = {
        "INVOICES_TABLE": "t",
        "RAZORPAY_SECRET_NAME": "s",
        "EVENT_BUS_NAME": "b",
        "RENDER_QUEUE_URL": "q",
        "EINVOICE_QUEUE_URL": "e",
        "SES_SENDER": "billing@example.com",
    }
    assert load(OutboxSettings, env).outbox_sweep_min_age_seconds == 120
    for name in ("EVENT_BUS_NAME", "EINVOICE_QUEUE_URL"):
        with pytest.raises(ConfigurationError, match=name):
            load(OutboxSettings, {k: v for k, v in env.items() if k != name})
