import sys

from mppdesk.sync.sim.command import main

sys.exit(main())
