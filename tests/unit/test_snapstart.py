"""SnapStart runtime hooks (invoicing/snapstart.py): registered with Lambda's runtime when there is
one; a restored environment draws its own random numbers and builds its own clients, connections
and secrets; the snapshot holds none of them, and holds what the primers prepared."""

from __future__ import annotations

import random
import subprocess
import sys
import types
from pathlib import Path

import pytest

from invoicing import snapstart
from invoicing.adapters import aws, secrets
from invoicing.wiring import common


@pytest.fixture
def fresh_hooks(monkeypatch):
    monkeypatch.setattr(snapstart, "_registered", False)
    monkeypatch.setattr(snapstart, "_primers", [])
    yield
    common.reset()


@pytest.fixture
def runtime(monkeypatch):
    """A stand-in for Lambda's ``snapshot_restore_py`` that records what is registered."""
    hooks: dict[str, list] = {"before_snapshot": [], "after_restore": []}
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = hooks["before_snapshot"].append
    module.register_after_restore = hooks["after_restore"].append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return hooks


def test_outside_lambda_s_runtime_nothing_is_registered(fresh_hooks, monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as off Lambda

    assert snapstart.register() is False


def test_on_lambda_s_runtime_both_hooks_are_registered_once(fresh_hooks, runtime):
    assert snapstart.register() is True
    assert snapstart.register() is True

    assert runtime == {
        "before_snapshot": [snapstart.before_snapshot],
        "after_restore": [snapstart.after_restore],
    }


def test_every_function_registers_the_hooks_through_its_wiring(tmp_path: Path) -> None:
    """Each function's wiring imports ``wiring.common``, whose import registers the hooks with the
    runtime (here a stand-in ``snapshot_restore_py`` on the path, in a fresh interpreter). One
    interpreter for all of them: before each wiring, every ``invoicing`` module is forgotten, so
    each import starts from nothing of ours, as a function's fresh environment does."""
    (tmp_path / "snapshot_restore_py.py").write_text(
        "registered = []\n"
        "register_before_snapshot = lambda hook: registered.append(hook.__name__)\n"
        "register_after_restore = lambda hook: registered.append(hook.__name__)\n"
    )
    shared = Path(common.__file__).resolve().parents[2]
    names = ("api", "webhook", "sweep", "pdf", "outbox", "billing", "dead_letters", "einvoice")
    probe = (
        "import importlib, sys, snapshot_restore_py\n"
        "for name in sys.argv[1:]:\n"
        "    for module in [m for m in sys.modules if m == 'invoicing' or m.startswith('invoicing.')]:\n"
        "        del sys.modules[module]\n"
        "    snapshot_restore_py.registered.clear()\n"
        "    importlib.import_module(f'invoicing.wiring.{name}')\n"
        "    print(name, snapshot_restore_py.registered)\n"
    )
    done = _fresh_python(probe, *names, path=f"{tmp_path}:{shared}")
    assert done.stdout.splitlines() == [f"{name} ['before_snapshot', 'after_restore']" for name in names]


def test_two_environments_restored_from_one_snapshot_draw_different_random_numbers(fresh_hooks):
    # Given one snapshot's random state
    random.seed(1234)
    snapshot = random.getstate()

    # When two environments resume from it
    draws = []
    for _ in range(2):
        random.setstate(snapshot)
        snapstart.after_restore()
        draws.append([random.random() for _ in range(3)])

    # Then they do not share their "random" numbers (the retry jitter among them)
    random.setstate(snapshot)
    shared = [random.random() for _ in range(3)]
    assert draws[0] != draws[1]
    assert shared not in draws


def test_a_restored_environment_builds_its_own_clients_stores_and_secrets_provider(fresh_hooks):
    # Given clients, a table and the secrets provider cached before the snapshot
    s3, table, provider = aws.client("s3"), common.table("invoices"), secrets._provider()

    # When the environment is restored
    snapstart.after_restore()

    # Then each is built afresh on first use
    assert aws.client("s3") is not s3
    assert common.table("invoices") is not table
    assert common.table("invoices").client is not table.client
    assert secrets._provider() is not provider


def test_rewiring_forgets_the_stores_and_secrets_but_keeps_the_clients(fresh_hooks):
    # Given clients, a table and the secrets provider built
    s3, table, provider = aws.client("s3"), common.table("invoices"), secrets._provider()

    # When a test rewires the functions (settings changed; endpoint, region and credentials did not)
    common.reset()

    # Then the stores and secrets are built again on the same clients
    assert common.table("invoices") is not table
    assert common.table("invoices").client is table.client
    assert secrets._provider() is not provider
    assert aws.client("s3") is s3


def test_a_cached_secret_is_read_again_after_a_restore(fresh_hooks, monkeypatch):
    # Given a secret cached (within its max_age) before the snapshot
    reads = []

    class Provider:  # caches as Powertools' provider does (within max_age)
        def __init__(self) -> None:
            self.values: dict[str, str] = {}

        def get(self, name, **options):
            if name not in self.values:
                reads.append(name)
                self.values[name] = "k" * 32
            return self.values[name]

    cache: dict[str, str] = {}

    def cached_provider():
        return cache.setdefault("provider", Provider())

    cached_provider.cache_clear = cache.clear  # what functools.cache gives the real one
    monkeypatch.setattr(secrets, "_provider", cached_provider)
    secrets.signing_key("cursor")
    secrets.signing_key("cursor")
    assert reads == ["cursor"]

    # When the environment is restored
    snapstart.after_restore()
    secrets.signing_key("cursor")

    # Then the secret is fetched again rather than served from the snapshot's cache
    assert reads == ["cursor", "cursor"]


def test_before_the_snapshot_the_primers_run_and_no_client_or_secret_stays(fresh_hooks):
    primed = []
    snapstart.prime(lambda: primed.append("routes"))
    s3 = aws.client("s3")

    snapstart.before_snapshot()

    assert primed == ["routes"]
    assert aws.client.cache_info().currsize == 0 and secrets._provider.cache_info().currsize == 0
    assert aws.client("s3") is not s3


def test_the_api_s_snapshot_holds_every_router_imported() -> None:
    """Importing the handler loads no router; the hooks' ``before_snapshot`` (as Lambda runs it
    when it publishes a version) includes them all, so a resumed environment's first request pays
    none of the lazy imports."""
    api = Path(common.__file__).resolve().parents[3] / "functions" / "invoice_api"
    probe = (
        "import sys, handler\n"
        "from invoicing import snapstart\n"
        "routes = lambda: sorted(m for m in sys.modules if m.startswith('routes.') and '._' not in m)\n"
        "print(len(routes()))\n"
        "snapstart.before_snapshot()\n"
        "print(len(routes()), len(handler.app._dynamic_routes) + len(handler.app._static_routes) > 30)\n"
    )
    done = _fresh_python(probe, path=f"{api}:{api.parents[1] / 'shared'}", cwd=api)
    assert done.stdout.splitlines() == ["0", f"{_routers(api)} True"]


def _routers(api: Path) -> int:
    """How many routers the API has (``routes.ORDER``)."""
    import importlib

    sys.path.insert(0, str(api))
    try:
        return len(importlib.import_module("routes").ORDER)
    finally:
        sys.path.remove(str(api))


def _fresh_python(
    code: str, *args: str, path: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``code`` run by a new interpreter with only ``path`` to import from (and a region)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env={"PYTHONPATH": path, "AWS_DEFAULT_REGION": "ap-south-1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
