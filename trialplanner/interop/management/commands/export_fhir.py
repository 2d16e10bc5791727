import json
import uuid

from django.core.management.base import BaseCommand, CommandError

from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log
from trialplanner.interop.fhir_export import plan_bundle
from trialplanner.plans.models import Plan


class Command(BaseCommand):
    help = "Print a plan version as a FHIR R4 Bundle (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("plan_uuid")
        parser.add_argument(
            "--per-step", action="store_true", help="One MedicationRequest per step, linked by groupIdentifier."
        )

    def handle(self, plan_uuid, per_step, **options):
        try:
            key = uuid.UUID(plan_uuid)
        except ValueError:
            raise CommandError(f"{plan_uuid!r} is not a UUID.") from None
        plan = Plan.objects.select_related("patient__clinic", "indication").filter(uuid=key).first()
        if plan is None:
            raise CommandError(f"No plan with UUID {plan_uuid}.")
        audit_log(AuditEvent.Action.VIEW, plan, detail=f"FHIR export v{plan.version} (command)")
        self.stdout.write(json.dumps(plan_bundle(plan, per_step=per_step), indent=2, ensure_ascii=False))
