"""`python -m gpt_lsp`."""

import sys

from gpt_lsp.cli import main

sys.exit(main())
