"""``python -m aftersales`` runs the ``aftersales`` command."""

from aftersales.cli import main

main()
