"""The Django + django-fsm-2 peer of Statekeeper's bulk transition, run in bench/peer/.venv.

    django_peer.py seed URL            the schema (Django's migrate) and 50,000 active builders
    django_peer.py run URL IDS_FILE    deactivate those ids as an admin action does; prints JSON

URL is ``sqlite:///PATH`` or ``postgresql://USER@HOST:PORT/NAME``. The run is what a Django
admin action over a queryset does with django-fsm: ``for obj in queryset: obj.deactivate();
obj.save()``, one StateLog row per change written by django-fsm-log, in one transaction
(``transaction.atomic``, as ``ATOMIC_REQUESTS`` would give the admin's request).
"""
import json
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

ENTITIES = 50_000


def configure(url):
    import django
    from django.conf import settings

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    settings.configure(
        DEBUG=False, USE_TZ=True, SECRET_KEY="bench", DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_fsm_log",
                        "peerapp"],
        DATABASES={"default": database(url)})
    django.setup()


def database(url):
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # As Statekeeper's engine sets SQLite up: WAL, synchronous NORMAL, writers IMMEDIATE.
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parsed.path[1:] if
                parsed.path.startswith("//") else parsed.path,
                "OPTIONS": {"transaction_mode": "IMMEDIATE",
                            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"}}
    return {"ENGINE": "django.db.backends.postgresql", "NAME": parsed.path.lstrip("/"),
            "USER": parsed.username or "postgres", "PASSWORD": parsed.password or "",
            "HOST": parsed.hostname, "PORT": parsed.port or 5432}


def seed():
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone
    from peerapp.models import Builder

    call_command("migrate", run_syncdb=True, verbosity=0)
    User.objects.create(username="bench", is_staff=True)
    born = timezone.now() - timedelta(days=100)
    Builder.objects.bulk_create(
        (Builder(id=i, name=f"Builder {i}", status="active", last_activity_at=born,
                 status_changed_at=born, created_at=born, updated_at=born)
         for i in range(1, ENTITIES + 1)), batch_size=5_000)


def run(ids):
    """Seconds (wall, CPU) of the admin action over ``ids``, and what it wrote."""
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone
    from django_fsm_log.models import StateLog
    from peerapp.models import Builder

    user = User.objects.get(username="bench")
    queryset = Builder.objects.filter(pk__in=ids)
    start, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic():
        for obj in queryset:  # the admin action
            obj.deactivate(by=user, description="bench")
            obj.version += 1
            obj.updated_at = timezone.now()
            obj.save()
    elapsed = time.perf_counter() - start, time.process_time() - cpu
    return {"wall": elapsed[0], "cpu": elapsed[1],
            "changed": Builder.objects.filter(pk__in=ids, status="inactive").count(),
            "logs": StateLog.objects.count()}


def main(argv):
    command, url = argv[0], argv[1]
    configure(url)
    if command == "seed":
        seed()
        return 0
    ids = json.loads(Path(argv[2]).read_text())
    print(json.dumps(run(ids)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
