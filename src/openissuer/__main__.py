"""Run the command-line interface: ``python -m openissuer``."""

from openissuer.cli import main

main()
