"""The IRP through a GSP's REST API (NIC-compatible JSON): ``services.ports.IrpClient``.

The provider is a GST Suvidha Provider exposing NIC's e-invoice API one-to-one, with the GSP doing
NIC's payload encryption (the "pass-through" or "enriched" style most GSPs offer): NIC's paths and
JSON, plain over TLS, authenticated by the GSP's client id/secret plus the supplier's IRP API user.

================================================  ====================================================
``POST /eivital/v1.04/auth``                      a session token (``AuthToken``, ``TokenExpiry``)
``POST /eicore/v1.03/Invoice``                    register INV-01 → ``Irn``, ``AckNo``, ``AckDt``,
                                                  ``SignedInvoice``, ``SignedQRCode``
``GET  /eicore/v1.03/Invoice/irn/{irn}``          a registration by IRN
``GET  /eicore/v1.03/Invoice/irnbydocdetails``    by ``doctype``, ``docnum``, ``docdate`` (dd/mm/yyyy)
``POST /eicore/v1.03/Invoice/Cancel``             ``{"Irn", "CnlRsn", "CnlRem"}`` → ``CancelDate``
================================================  ====================================================

Every answer is NIC's envelope: ``{"Status": 1, "Data": {...}}`` or ``{"Status": 0, "ErrorDetails":
[{"ErrorCode", "ErrorMessage"}], "InfoDtls": [...]}`` (``Data`` may also arrive as a JSON string).

**Errors → the port's kinds.** 2150 (duplicate IRN) → ``IrpDuplicate``, with the IRN from the
``DUPIRN`` info block when NIC sends it; 1005 (invalid token) or HTTP 401 → the token is dropped,
a new one fetched and the call made once more, then ``IrpUnavailable``; 5002 (NIC application
error), HTTP 429 and 5xx, connection failures → ``IrpUnavailable`` (nothing registered); a read
timeout or HTTP 504 on a registration → ``IrpTimeout`` (it may have been registered); any other
error code → ``IrpRejected`` (the IRP's validation: sending it again is useless). 2148 on a look-up
means "not registered" (``None``).

**Tokens.** One token per container (and credentials), fetched on first use, reused until five
minutes before its ``TokenExpiry`` (NIC: six hours), behind a lock. A rotated secret (another user)
drops it. Secrets, tokens and payloads are never logged: only paths, codes and durations.

**What we took from the open implementations** (studied, not copied):

- resilient-tech/india-compliance (``gst_india/api_classes/nic/e_invoice.py``, ``utils/e_invoice.py``):
  matching error *codes*, not message text (2150 duplicate, 1005 invalid token, 2148 not available,
  9999 not active on cancel); on 1005 re-authenticate and repeat the call once; on a duplicate fetch
  the registered document by IRN and decode its ``SignedInvoice`` JWT (without verifying it) to
  compare buyer GSTIN and ``TotInvVal`` before linking — a mismatch is an error, never a link;
  cancel reason codes (3 = order cancelled) and the 24-hour window; a request id header per call;
  the GSP-handled-encryption ("enriched") mode. We differ in classifying failures for a queue
  (transient vs validation vs unknown outcome) and in looking up by document details after a
  timeout instead of resending blind.
- Mittal-Analytics/gst-e-invoicing (``src/gst_irn/session.py``): NIC's auth flow and headers
  (``client-id``, ``client-secret``, ``gstin``, ``user_name``, ``AuthToken``), the ``eivital``/
  ``eicore`` versioned paths, the ``Status``/``Data`` envelope; its direct-to-NIC AES/RSA layer is
  what a GSP spares us. Its QR helper uses the ``qrcode`` package; we draw with ReportLab instead
  (already in the PDF stack).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicing.adapters.secrets import GspCredentials
from invoicing.domain.einvoice import (
    IrpDuplicate,
    IrpError,
    IrpRejected,
    IrpTimeout,
    IrpUnavailable,
    RegisteredDocument,
    Registration,
)
from invoicing.domain.einvoice_payload import nic_date
from invoicing.domain.numbering import IST
from invoicing.observability import logger

AUTH_PATH = "/eivital/v1.04/auth"
INVOICE_PATH = "/eicore/v1.03/Invoice"
DUPLICATE = "2150"
INVALID_TOKEN = "1005"  # noqa: S105 - NIC's error code, not a secret
NOT_AVAILABLE = frozenset({"2148"})  # "Requested IRN data is not available"
TRANSIENT_CODES = frozenset({"5002"})  # NIC: application error, try again
TOKEN_MARGIN_SECONDS = 300
_NIC_TIME = "%Y-%m-%d %H:%M:%S"


class GspIrpClient:
    """``IrpClient`` over a GSP's NIC-compatible REST API (``requests``, with timeouts)."""

    def __init__(
        self,
        credentials: Callable[[], GspCredentials],
        *,
        base_url: str,
        timeout_seconds: float = 10.0,
        session: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._base = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._session = session
        self._clock = clock
        self._lock = threading.Lock()
        self._token: tuple[str, float, str] | None = None  # (token, expires at, for user)

    # ------------------------------------------------------------------ port
    def register(self, payload: dict[str, Any]) -> Registration:
        from invoicing.domain.einvoice_payload import payload_json

        data = self._call("POST", INVOICE_PATH, body=payload_json(payload), registers=True)
        return _registration(data)

    def find(self, doc_type: str, number: str, document_date: date) -> RegisteredDocument | None:
        params = {"doctype": doc_type, "docnum": number, "docdate": nic_date(document_date)}
        try:
            data = self._call("GET", f"{INVOICE_PATH}/irnbydocdetails", params=params)
        except IrpRejected as refused:
            if refused.code in NOT_AVAILABLE:
                return None
            raise
        return _registered(data)

    def get(self, irn: str) -> RegisteredDocument:
        return _registered(self._call("GET", f"{INVOICE_PATH}/irn/{irn}"))

    def cancel(self, irn: str, reason_code: str, remark: str) -> datetime:
        body = json.dumps({"Irn": irn, "CnlRsn": reason_code, "CnlRem": remark[:100]})
        data = self._call("POST", f"{INVOICE_PATH}/Cancel", body=body)
        return _nic_time(data.get("CancelDate"), "CancelDate")

    # ------------------------------------------------------------------ transport
    def _call(
        self,
        method: str,
        path: str,
        *,
        body: str | None = None,
        params: dict[str, str] | None = None,
        registers: bool = False,
    ) -> dict[str, Any]:
        for attempt in range(2):
            credentials = self._credentials()
            headers = {
                **_gsp_headers(credentials),
                "user_name": credentials.user_name,
                "AuthToken": self._auth(credentials),
                "requestid": uuid.uuid4().hex,
                "Content-Type": "application/json",
            }
            status, answer = self._send(method, path, headers, body, params, registers=registers)
            if status == 401 or _error_code(answer) == INVALID_TOKEN:
                self._drop_token()
                if attempt == 0:
                    continue
                raise IrpUnavailable(INVALID_TOKEN, "The GSP refused a fresh session token.")
            return _data_or_raise(status, answer, path)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: str | None,
        params: dict[str, str] | None,
        *,
        registers: bool,
    ) -> tuple[int, dict[str, Any]]:
        import requests

        started = time.monotonic()
        try:
            response = self._http().request(
                method,
                self._base + path,
                data=body.encode() if body is not None else None,
                params=params,
                headers=headers,
                timeout=self._timeout,
            )
        except requests.exceptions.ConnectTimeout:
            raise IrpUnavailable("connect_timeout", "The GSP could not be reached in time.") from None
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
            kind = "timeout" if isinstance(exc, requests.exceptions.Timeout) else "connection"
            logger.warning("IRP call got no answer", extra={"path": _logged(path), "failure": kind})
            if registers:
                raise IrpTimeout(
                    "timeout", "The IRP did not answer in time; the outcome is unknown."
                ) from None
            raise IrpUnavailable("timeout", "The IRP did not answer in time.") from None
        except requests.exceptions.RequestException as exc:
            raise IrpUnavailable(
                "request_failed", f"The call to the GSP failed: {type(exc).__name__}."
            ) from None
        elapsed_ms = round((time.monotonic() - started) * 1000)
        logger.info(
            "IRP answered",
            extra={"path": _logged(path), "status_code": response.status_code, "elapsed_ms": elapsed_ms},
        )
        if response.status_code == 504:
            if registers:
                raise IrpTimeout("504", "The IRP timed out (504); the outcome is unknown.")
            raise IrpUnavailable("504", "The IRP timed out (504).")
        if response.status_code == 429 or response.status_code >= 500:
            raise IrpUnavailable(str(response.status_code), f"The GSP answered {response.status_code}.")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            if response.status_code == 401:
                return 401, {}
            raise IrpUnavailable(str(response.status_code), "The GSP answered something that is not JSON.")
        return response.status_code, answer

    def _auth(self, credentials: GspCredentials) -> str:
        with self._lock:
            if self._token is not None:
                token, expires_at, user = self._token
                if user == credentials.user_name and self._clock() < expires_at - TOKEN_MARGIN_SECONDS:
                    return token
            self._token = None
        body = json.dumps(
            {
                "UserName": credentials.user_name,
                "Password": credentials.password,
                "ForceRefreshAccessToken": False,
            }
        )
        headers = {**_gsp_headers(credentials), "Content-Type": "application/json"}
        status, answer = self._send("POST", AUTH_PATH, headers, body, None, registers=False)
        try:
            data = _data_or_raise(status, answer, AUTH_PATH)
        except IrpRejected as refused:  # bad credentials: transient until an operator fixes the secret
            raise IrpUnavailable(
                refused.code, f"The GSP refused our credentials: {refused.message}"
            ) from None
        token = str(data.get("AuthToken") or "")
        if not token:
            raise IrpUnavailable("auth", "The GSP's auth answer carried no token.")
        expiry = data.get("TokenExpiry")
        expires_at = _nic_time(expiry, "TokenExpiry").timestamp() if expiry else self._clock() + 3600
        with self._lock:
            self._token = (token, expires_at, credentials.user_name)
        return token

    def _drop_token(self) -> None:
        with self._lock:
            self._token = None

    def _http(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session


# ---------------------------------------------------------------------------------- answers
def _gsp_headers(credentials: GspCredentials) -> dict[str, str]:
    return {
        "client-id": credentials.client_id,
        "client-secret": credentials.client_secret,
        "gstin": credentials.gstin,
    }


def _logged(path: str) -> str:
    """The path as logged: an IRN in it is shortened (it identifies a customer's document)."""
    head, _, tail = path.rpartition("/irn/")
    return f"{head}/irn/{tail[:8]}…" if head else path


def _error_code(answer: dict[str, Any]) -> str | None:
    details = answer.get("ErrorDetails") or []
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return str(details[0].get("ErrorCode", "")).strip() or None
    return None


def _data_or_raise(status: int, answer: dict[str, Any], path: str) -> dict[str, Any]:
    if str(answer.get("Status")) == "1":
        data = answer.get("Data")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                raise IrpUnavailable("data", "The GSP's Data is not JSON.") from None
        if not isinstance(data, dict):
            raise IrpUnavailable("data", "The GSP's answer carried no Data.")
        return data
    code = _error_code(answer) or str(status)
    details = answer.get("ErrorDetails") or [{}]
    message = str(details[0].get("ErrorMessage") or f"The IRP refused the call ({code}).")[:500]
    logger.info("IRP refused", extra={"path": _logged(path), "error_code": code})
    if code == DUPLICATE:
        raise IrpDuplicate(message, _duplicate_irn(answer))
    if code in TRANSIENT_CODES:
        raise IrpUnavailable(code, message)
    raise IrpRejected(code, message)


def _duplicate_irn(answer: dict[str, Any]) -> str | None:
    for info in answer.get("InfoDtls") or []:
        if isinstance(info, dict) and info.get("InfCd") == "DUPIRN":
            desc = info.get("Desc")
            if isinstance(desc, str):
                try:
                    desc = json.loads(desc)
                except ValueError:
                    return None
            if isinstance(desc, dict) and desc.get("Irn"):
                return str(desc["Irn"])
    return None


def _registration(data: dict[str, Any]) -> Registration:
    try:
        return Registration(
            irn=str(data["Irn"]),
            ack_no=str(data["AckNo"]).zfill(15),
            ack_date=_nic_time(data.get("AckDt"), "AckDt"),
            signed_qr=str(data["SignedQRCode"]),
        )
    except (KeyError, ValueError) as exc:
        raise IrpUnavailable("data", f"The IRP's answer is incomplete ({type(exc).__name__}).") from None


def _registered(data: dict[str, Any]) -> RegisteredDocument:
    registration = _registration(data)
    buyer: Any = None
    total: Any = None
    signed = data.get("SignedInvoice")
    if signed:
        invoice = _jwt_data(str(signed))
        buyer = (invoice.get("BuyerDtls") or {}).get("Gstin")
        total = (invoice.get("ValDtls") or {}).get("TotInvVal")
    if buyer is None or total is None:
        qr = _jwt_data(registration.signed_qr)
        buyer, total = qr.get("BuyerGstin"), qr.get("TotInvVal")
    try:
        paise = int((Decimal(str(total)) * 100).to_integral_value())
    except (InvalidOperation, TypeError):
        raise IrpUnavailable("data", "The registered document's total could not be read.") from None
    status = "cancelled" if str(data.get("Status", "ACT")).upper() == "CNL" else "active"
    return RegisteredDocument(
        registration=registration, buyer_gstin=buyer or None, total_paise=paise, status=status
    )


def _jwt_data(token: str) -> dict[str, Any]:
    """The ``data`` claim of an IRP JWT, decoded but not verified (the IRP's signature is for the
    buyer's scanner; here we only compare buyer and total)."""
    try:
        segment = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        data = claims.get("data", claims)
        return json.loads(data) if isinstance(data, str) else dict(data)
    except (IndexError, ValueError, binascii.Error, TypeError, AttributeError):
        return {}


def _nic_time(value: Any, field: str) -> datetime:
    """NIC writes times as ``yyyy-MM-dd HH:mm:ss`` in India time."""
    try:
        return datetime.strptime(str(value), _NIC_TIME).replace(tzinfo=IST)
    except (TypeError, ValueError):
        raise IrpUnavailable("data", f"The IRP's {field} {str(value)[:30]!r} is not a time.") from None


__all__ = ["GspIrpClient", "IrpError"]
