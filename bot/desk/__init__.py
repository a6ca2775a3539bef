"""The desk: the prefecture's pages in the browser (`python -m bot serve`, under /desk).

app.py mounts everything; auth.py says who is signed in and guards forms (CSRF);
signin.py is the passwordless sign-in and sign-out; pages.py the pages themselves.
"""
