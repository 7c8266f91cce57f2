"""The WSGI entry point, and the only place background workers are started."""
from webapp import create_app

app = create_app()

if app.config["BACKGROUND"]:
    from webapp.workers import start_background

    start_background(app)
