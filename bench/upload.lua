-- wrk script: POST a 1 MB body (wrk adds Content-Length).
wrk.method = "POST"
wrk.body = string.rep("u", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
