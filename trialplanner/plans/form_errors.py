"""The adapter from service errors to form errors (as healthchecks' `hc/front/validators.py` turns
cron errors into `ValidationError`): views bind, validate, call one service inside `service_errors`,
then redirect or re-render. Each rule is checked once, in the service; this puts its message on the
form field at fault."""

from contextlib import contextmanager
from dataclasses import dataclass

from trialplanner.engine import EngineError
from trialplanner.plans import services
from trialplanner.plans.forms import add_engine_error


@dataclass
class ServiceCall:
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def conflict(self) -> bool:
        """Someone changed the plan meanwhile: the view shows the current version instead."""
        return isinstance(self.error, services.PlanConflict)


@contextmanager
def service_errors(form):
    """Run one service call; an engine or plan error it raises becomes an error on `form`."""
    call = ServiceCall()
    try:
        yield call
    except services.DecisionRefused as exc:
        call.error = exc
        # Next to the decision and next to every finding that refuses it.
        for field in ("decision", *exc.fields):
            if field in form.fields:
                form.add_error(field, str(exc))
    except services.FieldRefused as exc:
        call.error = exc
        form.add_error(exc.field if exc.field in form.fields else None, str(exc))
    except services.PlanError as exc:
        call.error = exc
        form.add_error(None, str(exc))
    except EngineError as exc:
        call.error = exc
        add_engine_error(form, exc)
