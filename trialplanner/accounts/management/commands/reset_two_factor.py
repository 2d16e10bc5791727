"""An administrator removes a user's authenticator and recovery codes (audited, the user e-mailed)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from trialplanner.accounts import notify, services
from trialplanner.inputs import text_problem


class Command(BaseCommand):
    help = "Reset USERNAME's two-factor sign-in after checking who they are; they enrol again at next log-in."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="Why, for the audit trail (one line).")

    def handle(self, *args, username, reason, **options):
        problem = text_problem(reason)
        if problem or not reason.strip():
            raise CommandError(f"--reason: {problem or 'give a reason'}")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"username: no user {username!r}")
        detail = f"authenticator of {username} reset by an administrator: {reason.strip()}"
        removed = services.two_factor_remove(user=user, actor=None, detail=detail)
        notify.security_notice(user, what="two-factor sign-in was reset by an administrator")
        self.stdout.write(f"{'Removed' if removed else 'No authenticator to remove for'} {username}; audited.")
