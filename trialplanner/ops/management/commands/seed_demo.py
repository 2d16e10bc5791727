from django.core.management.base import BaseCommand

from trialplanner.ops.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo clinic, demo clinician and lead, and demo patients."

    def handle(self, *args, **options):
        clinic, users = seed_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo clinic: {clinic.name} with {clinic.patients.count()} patients"))
        for user in users:
            role = user.memberships.get(clinic=clinic).get_role_display()
            self.stdout.write(f"  {role:<14} username: {user.username:<10} password: {DEMO_PASSWORD}")
