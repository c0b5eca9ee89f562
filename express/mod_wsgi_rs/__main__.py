"""`python -m mod_wsgi_rs ...` is `mod_wsgi_rs-express ...`."""

import sys

from .cli import main

sys.exit(main())
