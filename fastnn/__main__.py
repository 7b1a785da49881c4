"""`python -m fastnn ...`: the command line of fastnn.cli."""
import sys

from .cli import main

sys.exit(main())
