"""Recovery codes for two-factor sign-in: single use, stored only as hashes."""

import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin

# 10 characters from 31 letters and digits without look-alikes (0/o, 1/l/i): about 50 bits each.
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 10
CODES_PER_SET = 10


def normalise_code(text):
    """Lower case without spaces or hyphens, as printed codes are typed back in many ways."""
    return "".join(ch for ch in str(text).lower() if ch not in " -\t")


def hash_code(text):
    return hashlib.sha256(normalise_code(text).encode()).hexdigest()


def new_code():
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


class RecoveryCodeSet(ThrottlingMixin, Device):
    """A user's recovery codes as a django-otp device, so a code verifies the session like the app does.

    The codes are random with 50 bits each, so a plain SHA-256 is enough to make a stolen
    database useless for signing in, without a slow hash per attempt.
    """

    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Recovery codes of {self.user}"

    def remaining(self):
        return self.codes.filter(used_at__isnull=True).count()

    def verify_token(self, token):
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        used = self.codes.filter(code_hash=hash_code(token), used_at__isnull=True).update(used_at=timezone.now())
        if used:
            self.throttle_reset(commit=True)
            return True
        self.throttle_increment(commit=True)
        return False

    def get_throttle_factor(self):
        return 1


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeSet, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="recovery_code_unique_per_set")]

    def __str__(self):
        return f"Recovery code {'used' if self.used_at else 'unused'}"
