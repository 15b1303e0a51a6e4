"""`python -m service` runs the same command line as `engagement`."""

from service.cli import main

raise SystemExit(main())
