from __future__ import annotations

import sys

from outframe.cli import main

sys.exit(main())
