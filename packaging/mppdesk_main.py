"""Entry point of the bundled program: the same ``mppdesk`` command as the wheel's script."""

import sys

from mppdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
