"""`python -m chainrule.cli ...`, as `python -m chainrule.cli` ran when the CLI was one module."""

import sys

from chainrule.cli import main

sys.exit(main())
