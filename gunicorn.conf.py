"""gunicorn reads this file from the working directory: settings every deployment of the app should keep."""
import os

# The access log names the path, never the query string or the Referer: a URL must not carry a resident's name
# or phone into a log (the app sends names in POST bodies, and this holds should one slip into a query string).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'

# On 2 cores: 3 worker processes of 2 threads each (gthread, so kept-alive connections are served). Measured with
# `make loadtest` (README "Operations"): 2 processes of 4 threads queue requests behind one another for the GIL
# (each request gives it up at every query and waits up to the 5 ms switch interval to get it back), which tripled
# p95; a third process and a second thread keep a core busy while a request waits on a commit's fsync or on
# PostgreSQL. WEB_CONCURRENCY or --workers overrides the count (about 1.5 per core).
workers = int(os.environ.get("WEB_CONCURRENCY", 3))
threads = 2
# Idle kept-alive connections stay open 5 s (gunicorn's default is 2 s): a phone that answers the next door within
# that time reuses its connection, and a request sent just as the server closes an idle one (the client then sees
# a reset) becomes rarer. gthread keeps idle connections in its poller, not in a thread.
keepalive = 5
