"""`python -m unikeras`: the `unikeras` command (see `unikeras.cli`)."""
import sys

from unikeras.cli import main

sys.exit(main())
