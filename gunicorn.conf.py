"""gunicorn reads this file from the working directory: settings every deployment of the app should keep."""
import os

# The access log names the path, never the query string or the Referer: a URL must not carry a resident's name
# or phone into a log (the app sends names in POST bodies, and this holds should one slip into a query string).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'

# On 2 cores: 2 worker processes of 1 thread each, gthread so that kept-alive connections are served (the plain
# sync worker closes every connection). Measured with `make loadtest` (README "Operations"): with a second thread per
# process, the two threads of a process queue for the GIL (each request gives it up at every query and may wait the
# 5 ms switch interval to get it back), and the server spent 8.9 ms of CPU per request where 3 x 1 spent 7.3 ms
# (that day's machine). On 2026-12-03, runs of 2 and of 3 processes taking turns (45 s each, four per database):
# 2 x 1 spent 5.2-5.5 ms of gunicorn CPU per request where 3 x 1 spent 5.6-6.0, at p95 45-60 ms against 61-78 on
# SQLite and 131-168 ms against 199-228 on PostgreSQL, for the same requests/s: a third process waiting on a commit's
# fsync gained less than three processes taking turns on two cores cost. WEB_CONCURRENCY or --workers overrides the
# count (about one per core).
workers = int(os.environ.get("WEB_CONCURRENCY", 2))
worker_class = "gthread"
threads = 1
# Idle kept-alive connections stay open 5 s (gunicorn's default is 2 s): a phone that answers the next door within
# that time reuses its connection, and a request sent just as the server closes an idle one (the client then sees
# a reset) becomes rarer. gthread keeps idle connections in its poller, not in a thread.
keepalive = 5


def post_worker_init(worker):
    """Freeze what the worker holds once the app is loaded (modules, models, templates: well over 100,000 objects that
    live as long as the process). Python's collector then leaves them out of its full passes, which otherwise walked
    them all every few hundred requests (about 80 ms a pass in the sync bench's process, README "Operations")."""
    import gc
    gc.freeze()
