"""Errors the plan services raise; each message is written for the clinician."""

from trialplanner.plans import selectors


class PlanError(Exception):
    """A plan action cannot be done; the message says why, for the clinician."""


class PlanConflict(PlanError):
    pass


class StaleDraft(PlanError):
    """The draft was built from a version that is no longer current; `current` is the one to open."""

    def __init__(self, stale: selectors.StaleDraft):
        self.current = stale.current
        super().__init__(stale.message)


class AcknowledgementRequired(PlanError):
    def __init__(self, cards):
        self.cards = tuple(cards)
        advice = [c.title for c in self.cards if c.needs_specialist_advice]
        others = [c.title for c in self.cards if not c.needs_specialist_advice]
        parts = []
        if others:
            parts.append("Record a reason for each warning before activating: " + ", ".join(others) + ".")
        if advice:
            parts.append("Record who gave specialist advice and when: " + ", ".join(advice) + ".")
        super().__init__(" ".join(parts))


class DecisionRefused(PlanError):
    """The visit's decision is not allowed with its findings; `errors` maps form fields to messages."""

    def __init__(self, message, fields):
        self.fields = tuple(fields)
        super().__init__(message)


class FieldRefused(PlanError):
    """A value the service refuses; `field` names the form field the message belongs on."""

    def __init__(self, field, message):
        self.field = field
        super().__init__(message)
