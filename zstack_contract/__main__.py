from __future__ import annotations

import sys

from zstack_contract.cli import main

sys.exit(main())
