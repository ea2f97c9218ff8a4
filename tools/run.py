"""Entry point of `make run`."""

from __future__ import annotations

import sys

from tools.stack import main

if __name__ == "__main__":
    sys.exit(main())
