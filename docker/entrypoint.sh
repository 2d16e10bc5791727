#!/bin/sh
# The container's entrypoint (docs/deploy.md): wait for the database, then one of
#   web        gunicorn on $BIND (default 0.0.0.0:8000), as `make serve` runs it
#   migrate    apply migrations, load the reference catalog and the medicine dictionary (a one-off job)
#   scheduler  the daily jobs, exactly once across servers (manage.py run_scheduler)
#   manage ... any manage.py command (backup, createsuperuser, seed_demo, ...)
set -eu
cd "$(dirname "$0")/.."
command="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$command" in
    web | migrate | scheduler | manage) ;;
    *) echo "entrypoint: unknown command '$command' (web, migrate, scheduler or manage ...)" >&2; exit 64 ;;
esac
python manage.py wait_for_db --timeout "${DB_WAIT_SECONDS:-60}"
case "$command" in
    web) exec gunicorn -c gunicorn.conf.py trialplanner.wsgi ;;
    migrate)
        python manage.py migrate --no-input
        python manage.py load_catalog
        exec python manage.py load_medicine_dictionary ;;
    scheduler) exec python manage.py run_scheduler ;;
    manage) exec python manage.py "$@" ;;
esac
