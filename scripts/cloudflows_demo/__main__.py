"""`python -m cloudflows_demo`, which is what `scripts/demo` runs."""

from __future__ import annotations

import sys

from cloudflows_demo.cli import main

sys.exit(main())
