"""`python -m gpt_lsp`."""

import sys

from .cli import main

sys.exit(main())
