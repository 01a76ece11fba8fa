"""Route the real GSP adapter to the local IRP stand-in, in-process, through ``responses``.

with irp_standin_responses() as standin:
    client = gsp_client()            # GspIrpClient pointed at BASE_URL with the dev credentials
    client.register(payload)         # answered by the stand-in
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import responses

from infra.local.irp_standin import IrpStandIn
from invoicing.adapters.gsp_irp import GspIrpClient
from invoicing.adapters.secrets import GspCredentials

BASE_URL = "https://gsp.test/einv"
SUPPLIER_GSTIN = "27AAPFU0939F1ZV"
CREDENTIALS = GspCredentials(
    client_id="gsp_client_local",
    client_secret="gsp_secret_local",
    gstin=SUPPLIER_GSTIN,
    user_name="irp_user_local",
    password="irp_password_local",
)


def new_standin(clock: Callable[[], datetime] | None = None) -> IrpStandIn:
    """A fresh stand-in (no documents, no tokens) signing with the test process's one key."""
    return IrpStandIn(
        client_id=CREDENTIALS.client_id,
        client_secret=CREDENTIALS.client_secret,
        user_name=CREDENTIALS.user_name,
        password=CREDENTIALS.password,
        clock=clock,
        key=_signing_key(),
    )


@cache
def _signing_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def gsp_client(credentials: GspCredentials = CREDENTIALS, **kwargs: Any) -> GspIrpClient:
    return GspIrpClient(lambda: credentials, base_url=BASE_URL, **kwargs)


@contextmanager
def irp_standin_responses(
    standin: IrpStandIn | None = None, *, mock: responses.RequestsMock | None = None
) -> Iterator[IrpStandIn]:
    standin = standin or new_standin()
    prefix = urlsplit(BASE_URL).path

    def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(request.url)
        relative = url.path[len(prefix) :] + (f"?{url.query}" if url.query else "")
        return standin.handle(request.method, relative, dict(request.headers), request.body)

    def register(target: responses.RequestsMock) -> None:
        pattern = re.compile(re.escape(BASE_URL) + r"/.*")
        for method in (responses.GET, responses.POST):
            target.add_callback(method, pattern, callback=callback)

    if mock is not None:
        register(mock)
        yield standin
        return
    with responses.RequestsMock(assert_all_requests_are_fired=False) as started:
        register(started)
        yield standin
