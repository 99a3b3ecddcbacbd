"""``python -m bench``: run the suite (see :mod:`bench.run`)."""

import sys

from bench.run import main

sys.exit(main())
