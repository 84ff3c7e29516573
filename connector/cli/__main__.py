"""`python -m connector.cli ...`: the same as the `gmail-connector` command."""
import sys

from connector.cli import main

sys.exit(main())
