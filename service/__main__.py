"""`python -m service` runs the same command line as `engagement`."""

from service.entry import main

raise SystemExit(main())
