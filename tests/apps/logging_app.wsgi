# Writes a token to the error log through the channel chosen by ?via=:
#   errors     environ['wsgi.errors'].write(...)
#   print      print(...)            (sys.stdout)
#   stderr     print(..., file=sys.stderr)
#   multiline  wsgi.errors: three lines in one write
#   logging    the logging module with a StreamHandler on wsgi.errors
# Query: via=...&token=...
import logging
import sys
from urllib.parse import parse_qs
from wsgiref.validate import validator


def app(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    via = q.get("via", "errors")
    token = q["token"]
    errors = environ["wsgi.errors"]
    if via == "errors":
        errors.write(f"wsgi.errors says {token}\n")
        errors.flush()
    elif via == "print":
        print(f"print says {token}")
    elif via == "stderr":
        print(f"stderr says {token}", file=sys.stderr)
    elif via == "multiline":
        errors.write(f"{token} line-1\n{token} line-2\n{token} line-3\n")
        errors.flush()
    elif via == "logging":
        logger = logging.getLogger("mod_wsgi_rs_test")
        handler = logging.StreamHandler(errors)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger.addHandler(handler)
        try:
            logger.warning("logging says %s", token)
        finally:
            logger.removeHandler(handler)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"logged"]


application = validator(app)
