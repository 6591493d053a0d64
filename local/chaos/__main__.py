"""``python -m local.chaos`` (``make chaos``)."""

import sys

from local.chaos import main

sys.exit(main())
