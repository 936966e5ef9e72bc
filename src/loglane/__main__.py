import sys

from loglane.cli import main

sys.exit(main())
