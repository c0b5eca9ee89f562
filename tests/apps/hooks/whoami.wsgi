import json
import mod_wsgi


def reply(environ, start_response, who):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"who": who, "user": environ.get("REMOTE_USER"), "group": mod_wsgi.application_group}).encode()]


def application(environ, start_response):
    return reply(environ, start_response, "application")


def other(environ, start_response):
    return reply(environ, start_response, "other")
