from __future__ import annotations

import sys

from outframe.cli import main

# Guarded: engine subprocesses are started with multiprocessing's spawn method, which imports
# the parent's __main__ module (as __mp_main__) in the child.
if __name__ == "__main__":
    sys.exit(main())
