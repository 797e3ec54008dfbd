import sys

from mppdesk.cli import main

sys.exit(main())
