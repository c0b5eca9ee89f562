# Violations of PEP 3333 in status / headers / body, chosen by ?case=.
# Not wrapped in wsgiref.validate (the server must catch these itself).


def application(environ, start_response):
    case = environ.get("QUERY_STRING", "").partition("case=")[2]
    ct = [("Content-Type", "text/plain")]
    if case == "status_short":        # not three digits
        start_response("20 OK", ct)
    elif case == "status_int":
        start_response(200, ct)
    elif case == "status_noreason":   # allowed: "299" with no reason phrase
        start_response("299", ct)
    elif case == "status_ctl":
        start_response("200 O\x01K", ct)
    elif case == "header_space":
        start_response("200 OK", ct + [("X Bad", "v")])
    elif case == "header_value_int":
        start_response("200 OK", ct + [("X-Num", 5)])
    elif case == "headers_tuple":
        start_response("200 OK", tuple(ct))
    elif case == "header_not_pair":
        start_response("200 OK", ct + [("X-One",)])
    elif case == "body_str":
        start_response("200 OK", ct)
        return ["text, not bytes"]
    elif case == "no_start_response":
        return [b"never started"]
    elif case == "second_start_response":
        # no exc_info: a fatal error per PEP 3333 (mod_wsgi let it replace the first)
        start_response("200 OK", ct)
        start_response("202 Accepted", ct + [("X-Second", "yes")])
    else:
        raise ValueError(f"unknown case {case!r}")
    return [b"body-after-" + case.encode()]
