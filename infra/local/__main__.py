"""``python -m infra.local`` — what ``make run`` runs (see ``infra/local/stack.py``).

Signals are handled from the first moment: a Ctrl-C during the imports below is not lost (nor a
``KeyboardInterrupt`` traceback) but stops the stack at its first checkpoint.
"""

from infra.local.shutdown import Shutdown

shutdown = Shutdown().install()

from infra.local.stack import main  # noqa: E402 - after the signal handlers, on purpose

raise SystemExit(main(shutdown))
