"""Counts cached under each clinic's data_version: exact, yet not recounted on every page.

A key names the user's clinics with their data_version (read anyway with the memberships on
every signed-in request) plus anything else the value depends on, such as each clinic's
today. Any write to a clinic's patients or follow-ups bumps its version after commit, so the
next read misses and recounts; nothing has to be deleted and no value is ever stale.
"""

import hashlib

from django.core.cache import cache

from trialplanner.patients.access import memberships_for

# Old keys age out; the bound also limits staleness should a process die between a commit
# and its version bump (the bump runs just after commit).
TIMEOUT_SECONDS = 5 * 60


def clinics_key(user, name, *, extra=""):
    """A cache key naming the user's clinics at their current data_version (plus `extra`)."""
    memberships = sorted(memberships_for(user), key=lambda m: m.clinic_id)
    raw = ",".join(f"{m.clinic_id}.{m.clinic.data_version}" for m in memberships) + f":{extra}"
    return f"{name}:{hashlib.sha256(raw.encode()).hexdigest()}"  # any cache backend accepts it


def cached_per_clinics(user, name, compute, *, extra=""):
    return cache.get_or_set(clinics_key(user, name, extra=extra), compute, TIMEOUT_SECONDS)
