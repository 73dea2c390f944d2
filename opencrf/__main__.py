import sys

from opencrf.cli import main

sys.exit(main())
