"""Account-security writes: two-factor devices and recovery codes, each one audited transaction."""

import time

from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialplanner.accounts.models import CODES_PER_SET, RecoveryCode, RecoveryCodeSet, hash_code, new_code
from trialplanner.audit.models import AuditEvent
from trialplanner.audit.services import audit_log

DEVICE_NAME = "Authenticator app"


def pending_totp_matches(*, key_hex: str, token: str) -> int | None:
    """The time step at which `token` matches the not-yet-saved secret, or None.

    Checked here, not through a TOTPDevice, because a device being enrolled has no row yet.
    """
    totp = TOTP(bytes.fromhex(key_hex))
    totp.time = time.time()
    if totp.verify(int(token), tolerance=1):
        return totp.t()
    return None


def _new_recovery_codes(user) -> list[str]:
    RecoveryCodeSet.objects.filter(user=user).delete()
    device = RecoveryCodeSet.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = []
    while len(codes) < CODES_PER_SET:
        code = new_code()
        if code not in codes:
            codes.append(code)
    RecoveryCode.objects.bulk_create(RecoveryCode(device=device, code_hash=hash_code(c)) for c in codes)
    return codes


@transaction.atomic
def two_factor_enrol(*, user, key_hex: str, last_t: int) -> tuple[TOTPDevice, list[str]]:
    """Confirm a new authenticator (replacing any earlier one) and issue fresh recovery codes.

    Returns the device and the recovery codes in plain text, to be shown once and never stored.
    """
    replaced = TOTPDevice.objects.filter(user=user).delete()[0] > 0
    device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, key=key_hex, confirmed=True, last_t=last_t)
    codes = _new_recovery_codes(user)
    audit_log(
        AuditEvent.Action.SECURITY,
        user,
        object_type="two_factor",
        user=user,
        detail="authenticator replaced" if replaced else "authenticator enrolled",
    )
    return device, codes


@transaction.atomic
def recovery_codes_regenerate(*, user) -> list[str]:
    """Replace all of a user's recovery codes; earlier ones stop working."""
    codes = _new_recovery_codes(user)
    audit_log(
        AuditEvent.Action.SECURITY, user, object_type="recovery_code", user=user, detail="recovery codes replaced"
    )
    return codes


@transaction.atomic
def two_factor_remove(*, user, actor, clinic=None, detail="authenticator removed") -> bool:
    """Remove a user's authenticator and recovery codes (by the user, or by a lead for `clinic`)."""
    removed = TOTPDevice.objects.filter(user=user).delete()[0] > 0
    RecoveryCodeSet.objects.filter(user=user).delete()
    audit_log(AuditEvent.Action.SECURITY, user, object_type="two_factor", user=actor, clinic=clinic, detail=detail)
    return removed


@transaction.atomic
def two_factor_reset_by_lead(*, member, lead, clinic) -> bool:
    """A clinic lead removes a member's authenticator (lost phone and codes), audited for the clinic.

    Only for members of this clinic alone: a member of several clinics is reset by an
    administrator, so no single clinic's lead controls access to another clinic's patients.
    """
    if not lead_may_reset(member=member, lead=lead, clinic=clinic):
        raise PermissionError("This member's two-factor sign-in cannot be reset by this lead.")
    return two_factor_remove(
        user=member, actor=lead, clinic=clinic, detail=f"authenticator of {member.get_username()} reset by clinic lead"
    )


def lead_may_reset(*, member, lead, clinic) -> bool:
    from trialplanner.patients.models import Membership

    memberships = list(Membership.objects.filter(user=member).values_list("clinic_id", flat=True))
    return (
        member.pk != lead.pk
        and not (member.is_staff or member.is_superuser)
        and memberships == [clinic.pk]
        and Membership.objects.filter(user=lead, clinic=clinic, role=Membership.Role.LEAD).exists()
    )


def recovery_code_use(*, user, code: str) -> RecoveryCodeSet | None:
    """Spend one recovery code; the set that accepted it, or None."""
    with transaction.atomic():
        device = RecoveryCodeSet.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None or not device.verify_token(code):
            return None
        audit_log(
            AuditEvent.Action.SECURITY,
            user,
            object_type="recovery_code",
            user=user,
            detail=f"recovery code used, {device.remaining()} left",
        )
    return device
