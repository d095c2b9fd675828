"""gunicorn reads this file from the working directory: settings every deployment of the app should keep."""

# The access log names the path, never the query string or the Referer: a URL must not carry a resident's name
# or phone into a log (the app sends names in POST bodies, and this holds should one slip into a query string).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
