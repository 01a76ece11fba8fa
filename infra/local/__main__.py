"""``python -m infra.local`` — what ``make run`` runs (see ``infra/local/stack.py``)."""

from infra.local.stack import main

raise SystemExit(main())
