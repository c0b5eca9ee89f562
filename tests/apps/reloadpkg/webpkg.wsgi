# Serves the Flask package mwrs_webpkg (next to this file, outside
# site-packages). Touch this file to reload it, edited submodules included.
import os
import sys
from wsgiref.validate import validator

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from mwrs_webpkg import app  # noqa: E402

application = validator(app)
