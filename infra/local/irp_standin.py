"""A stand-in for the IRP behind a GSP: the slice of the NIC-compatible REST API the adapter uses.

:class:`IrpStandIn` is transport-free, like the Razorpay one: ``handle(method, path, headers, body)``
answers one call (``path`` relative to the adapter's base URL, e.g. ``/eicore/v1.03/Invoice``) in
NIC's envelope (``{"Status": 1, "Data": ...}`` / ``{"Status": 0, "ErrorDetails": [...]}``). The local
stack serves it under ``/_irp``; ``tests/support/irp.py`` routes the real adapter to it through
``responses``. So the adapter's production code path is the one exercised (einvoice.md).

What it does, as einvoice.md says:

- ``POST /eivital/v1.04/auth``: checks the GSP client id/secret and the API user, answers a token
  valid 6 hours (an unknown or expired token on any other call is error 1005);
- ``POST /eicore/v1.03/Invoice``: registers the document with IRN = SHA-256 hex of
  ``seller GSTIN + financial year ("2026-27") + document type + number``, a 15-digit ack number, the
  ack date, and ``SignedQRCode`` / ``SignedInvoice`` JWTs signed RS256 with a key made at start;
  a second registration of the same document is error 2150 with NIC's ``DUPIRN`` info block;
- ``GET .../Invoice/irn/{irn}`` and ``GET .../Invoice/irnbydocdetails`` (2148 when it has none);
- ``POST .../Invoice/Cancel``: within 24 hours of the ack date (2270 after, 9999 if not active);
- :meth:`fail_next`: the next ``n`` registration calls fail — ``transient``: 503, nothing
  registered; ``timeout``: the document *is* registered and the answer is 504.

The certificate that verifies its JWTs is :meth:`certificate_pem` (``GET /_local/irp/certificate``).
State is in memory behind one lock. Error codes other than NIC's well-known ones (2150, 1005, 2148,
2270, 9999) are this stand-in's own.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

IST = ZoneInfo("Asia/Kolkata")
TOKEN_LIFETIME = timedelta(hours=6)
CANCEL_WINDOW = timedelta(hours=24)
ISSUER = "NIC Sandbox (local stand-in)"
_NIC_TIME = "%Y-%m-%d %H:%M:%S"
FAIL_KINDS = ("transient", "timeout")


class StandInError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class IrpDocument:
    irn: str
    doc_type: str
    number: str
    date: str  # dd/mm/yyyy, as registered
    seller_gstin: str
    buyer_gstin: str | None
    total: Decimal  # rupees
    ack_no: int
    ack_dt: datetime
    signed_invoice: str
    signed_qr: str
    status: str = "ACT"
    cancel_date: datetime | None = None
    preceding: dict[str, str] | None = None  # a CRN's RefDtls.PrecDocDtls[0] (InvNo, InvDt)

    def data(self) -> dict[str, Any]:
        return {
            "AckNo": self.ack_no,
            "AckDt": _nic_time(self.ack_dt),
            "Irn": self.irn,
            "SignedInvoice": self.signed_invoice,
            "SignedQRCode": self.signed_qr,
            "Status": self.status,
            "EwbNo": None,
            "EwbDt": None,
            "EwbValidTill": None,
        }

    def listed(self) -> dict[str, Any]:
        day, month, year = self.date.split("/")
        return {
            "irn": self.irn,
            "type": self.doc_type,
            "number": self.number,
            "date": f"{year}-{month}-{day}",
            "buyer_gstin": self.buyer_gstin,
            "total": int(self.total * 100),  # paise, as our API writes money
            "status": "cancelled" if self.status == "CNL" else "active",
            "ack_no": str(self.ack_no),
            "preceding_document": self.preceding,  # a credit note's invoice: {"InvNo", "InvDt"}
        }


class IrpStandIn:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        user_name: str,
        password: str,
        clock: Callable[[], datetime] | None = None,
        key: RSAPrivateKey | None = None,
    ) -> None:
        """``key`` signs its JWTs (a new 2048-bit key when not given: ~0.1 s to make, so a test
        process shares one)."""
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.client_id, self.client_secret = client_id, client_secret
        self.user_name, self.password = user_name, password
        self.clock = clock or (lambda: datetime.now(UTC))
        self._key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._certificate = _self_signed(self._key, self.clock())
        self._lock = threading.Lock()
        self._tokens: dict[str, datetime] = {}
        self._documents: dict[str, IrpDocument] = {}
        self._failures: list[str] = []
        self._ack = itertools.count(1)
        self.calls: list[tuple[str, str]] = []  # (method, path) of every call, for tests

    # ------------------------------------------------------------------------- local routes
    def certificate_pem(self) -> str:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self._certificate.public_bytes(Encoding.PEM).decode()

    def documents(self) -> list[dict[str, Any]]:
        with self._lock:
            ordered = sorted(self._documents.values(), key=lambda d: d.ack_no)
            return [document.listed() for document in ordered]

    def fail_next(self, kind: str, count: int = 1) -> None:
        if kind not in FAIL_KINDS or not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError('expected {"kind": "transient" | "timeout", "count": n >= 1}')
        with self._lock:
            self._failures += [kind] * count

    def expire_tokens(self) -> None:
        """Every session token stops working (the GSP's tokens expired)."""
        with self._lock:
            self._tokens.clear()

    # ------------------------------------------------------------------------------- REST
    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | str | None
    ) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(path)
        route, query = url.path.rstrip("/"), {k: v[-1] for k, v in parse_qs(url.query).items()}
        lowered = {k.lower(): v for k, v in headers.items()}
        raw = body.encode() if isinstance(body, str) else (body or b"")
        with self._lock:
            self.calls.append((method.upper(), route))
        try:
            if route == "/eivital/v1.04/auth" and method.upper() == "POST":
                return _ok(self._auth(lowered, _json(raw)))
            self._authorised(lowered)
            if route == "/eicore/v1.03/Invoice" and method.upper() == "POST":
                return self._register(lowered, _json(raw))
            if route.startswith("/eicore/v1.03/Invoice/irn/") and method.upper() == "GET":
                return _ok(self._by_irn(route.rsplit("/", 1)[1]).data())
            if route == "/eicore/v1.03/Invoice/irnbydocdetails" and method.upper() == "GET":
                return _ok(self._by_details(lowered["gstin"], query))
            if route == "/eicore/v1.03/Invoice/Cancel" and method.upper() == "POST":
                return _ok(self._cancel(_json(raw)))
        except StandInError as error:
            return _refused(error)
        return 404, {"Content-Type": "application/json"}, b'{"message": "no such route at the IRP stand-in"}'

    # ------------------------------------------------------------------------------ calls
    def _auth(self, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if (headers.get("client-id"), headers.get("client-secret")) != (self.client_id, self.client_secret):
            raise StandInError("1004", "Invalid Client-ID/Client-Secret")
        if (body.get("UserName"), body.get("Password")) != (self.user_name, self.password):
            raise StandInError("1004", "Invalid UserName or Password")
        token = secrets.token_urlsafe(24)
        expiry = self.clock() + TOKEN_LIFETIME
        with self._lock:
            self._tokens[token] = expiry
        return {
            "ClientId": self.client_id,
            "UserName": self.user_name,
            "AuthToken": token,
            "Sek": "",
            "TokenExpiry": _nic_time(expiry),
        }

    def _authorised(self, headers: dict[str, str]) -> None:
        if (headers.get("client-id"), headers.get("client-secret")) != (self.client_id, self.client_secret):
            raise StandInError("1004", "Invalid Client-ID/Client-Secret")
        with self._lock:
            expiry = self._tokens.get(headers.get("authtoken", ""))
        if expiry is None or expiry <= self.clock():
            raise StandInError("1005", "Invalid Token")

    def _register(
        self, headers: dict[str, str], payload: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure == "transient":
            return 503, {"Content-Type": "application/json"}, b'{"message": "IRP unavailable (stand-in)"}'
        try:
            seller = payload["SellerDtls"]["Gstin"]
            doc = payload["DocDtls"]
            doc_type, number, when = str(doc["Typ"]), str(doc["No"]), str(doc["Dt"])
            buyer = payload["BuyerDtls"].get("Gstin")
            total = Decimal(str(payload["ValDtls"]["TotInvVal"]))
            items = payload["ItemList"]
            assert payload.get("Version") == "1.1" and items
        except (KeyError, TypeError, AssertionError, ArithmeticError, ValueError):
            raise StandInError("2172", "Invalid INV-01 JSON: required details are missing") from None
        if seller != headers.get("gstin"):
            raise StandInError("2169", "The seller GSTIN does not match the GSTIN of the API user")
        irn = derive_irn(seller, _financial_year(when), doc_type, number)
        with self._lock:
            existing = self._documents.get(irn)
            if existing is not None:
                info = [
                    {
                        "InfCd": "DUPIRN",
                        "Desc": {"AckNo": existing.ack_no, "AckDt": _nic_time(existing.ack_dt), "Irn": irn},
                    }
                ]
                return _refused(StandInError("2150", "Duplicate IRN"), info=info)
            now = self.clock()
            ack_no = int(f"1{now.astimezone(IST):%y}{next(self._ack):012d}")
        qr = {
            "SellerGstin": seller,
            "BuyerGstin": buyer,
            "DocNo": number,
            "DocTyp": doc_type,
            "DocDt": when,
            "TotInvVal": float(total) if total != total.to_integral_value() else int(total),
            "ItemCnt": len(items),
            "MainHsnCode": str(items[0].get("HsnCd", "")),
            "Irn": irn,
            "IrnDt": _nic_time(now),
        }
        signed_invoice_data = payload | {"Irn": irn, "AckNo": ack_no, "AckDt": _nic_time(now)}
        document = IrpDocument(
            irn=irn,
            doc_type=doc_type,
            number=number,
            date=when,
            seller_gstin=seller,
            buyer_gstin=buyer,
            total=total,
            ack_no=ack_no,
            ack_dt=now,
            signed_invoice=self.sign({"data": json.dumps(signed_invoice_data, default=str), "iss": ISSUER}),
            signed_qr=self.sign({"data": json.dumps(qr, separators=(",", ":")), "iss": ISSUER}),
            preceding=_preceding(payload),
        )
        with self._lock:
            self._documents[irn] = document
        if failure == "timeout":
            return 504, {"Content-Type": "application/json"}, b'{"message": "Gateway timeout (stand-in)"}'
        return _ok(document.data())

    def _by_irn(self, irn: str) -> IrpDocument:
        with self._lock:
            document = self._documents.get(irn)
        if document is None:
            raise StandInError("2148", "Requested IRN data is not available")
        return document

    def _by_details(self, gstin: str, query: dict[str, str]) -> dict[str, Any]:
        try:
            irn = derive_irn(gstin, _financial_year(query["docdate"]), query["doctype"], query["docnum"])
        except (KeyError, ValueError):
            raise StandInError("2174", "doctype, docnum and docdate (dd/mm/yyyy) are required") from None
        return self._by_irn(irn).data()

    def _cancel(self, body: dict[str, Any]) -> dict[str, Any]:
        document = self._by_irn(str(body.get("Irn", "")))
        now = self.clock()
        with self._lock:
            if document.status != "ACT":
                raise StandInError("9999", "Invoice is not active")
            if now - document.ack_dt >= CANCEL_WINDOW:
                raise StandInError(
                    "2270", "The allowed cancellation time limit is crossed, you cannot cancel the IRN"
                )
            document.status, document.cancel_date = "CNL", now
        return {"Irn": document.irn, "CancelDate": _nic_time(now)}

    # ------------------------------------------------------------------------------- JWTs
    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWT over ``claims`` with the stand-in's key (what the IRP's QR carries)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"alg": "RS256", "typ": "JWT", "kid": self.key_id()}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    def key_id(self) -> str:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        der = self._key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(der).hexdigest()[:16]


def derive_irn(seller_gstin: str, financial_year: str, doc_type: str, number: str) -> str:
    """The IRN as the IRP derives it: SHA-256 hex of GSTIN + financial year + type + number."""
    return hashlib.sha256(f"{seller_gstin}{financial_year}{doc_type}{number}".encode()).hexdigest()


def _financial_year(nic_date: str) -> str:
    day, month, year = (int(part) for part in nic_date.split("/"))
    start = year if month >= 4 else year - 1
    datetime(year, month, day)  # refuses impossible dates
    return f"{start}-{(start + 1) % 100:02d}"


def _preceding(payload: dict[str, Any]) -> dict[str, str] | None:
    documents = (payload.get("RefDtls") or {}).get("PrecDocDtls") or []
    if not documents or not isinstance(documents[0], dict):
        return None
    return {"InvNo": str(documents[0].get("InvNo")), "InvDt": str(documents[0].get("InvDt"))}


def _self_signed(key: Any, now: datetime) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "IRP stand-in (local, not NIC)")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        raise StandInError("2172", "The request body is not JSON") from None
    if not isinstance(value, dict):
        raise StandInError("2172", "The request body is not a JSON object")
    return value


def _nic_time(value: datetime) -> str:
    return value.astimezone(IST).strftime(_NIC_TIME)


def _ok(data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    body = {"Status": 1, "Data": data, "ErrorDetails": None, "InfoDtls": None}
    return 200, {"Content-Type": "application/json"}, json.dumps(body, default=str).encode()


def _refused(
    error: StandInError, info: list[dict[str, Any]] | None = None
) -> tuple[int, dict[str, str], bytes]:
    body = {
        "Status": 0,
        "Data": None,
        "ErrorDetails": [{"ErrorCode": error.code, "ErrorMessage": error.message}],
        "InfoDtls": info,
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
