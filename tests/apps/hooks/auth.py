# WSGIAuthUserScript and WSGIAuthGroupScript.
USERS = {"alice": "wonderland", "bob": "builder"}
GROUPS = {"alice": ["admins", "staff"], "bob": ["staff"]}


def check_password(environ, user, password):
    if user == "robert":
        return "bob" if password == "builder" else False   # a new REMOTE_USER
    if user not in USERS:
        return None
    return USERS[user] == password


def groups_for_user(environ, user):
    return GROUPS.get(user, [])
