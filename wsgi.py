"""The WSGI entry point: the process's one app, its process-wide settings, and the only place
background workers are started."""
from webapp import create_app, serving
from webapp.core.audit import redaction

app = create_app()
# The deployment's extra audit-redaction keys are the process's (from the environment, like
# every process here); set once here, not by create_app, so building an app changes no global.
redaction.configure(app.config["AUDIT_REDACT_KEYS"])
serving.tune_collector()  # the process's: after the app is built, as its docstring says

if app.config["BACKGROUND"]:
    from webapp.workers import start_background

    start_background(app)
