import re

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import PermissionDenied

from trialplanner.inputs import HardenedFormMixin

SIX_DIGITS = re.compile(r"[0-9]{6}", re.ASCII)


class PasswordReentryMixin:
    """A fresh password before a security change, counted by the log-in throttle like any log-in."""

    def __init__(self, *args, request, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        user = self.request.user
        try:
            again = authenticate(self.request, username=user.get_username(), password=password)
        except PermissionDenied:
            again = None
        if again is None or again.pk != user.pk:
            raise forms.ValidationError(self.error_messages["wrong_password"], code="wrong_password")
        return password


def password_field():
    return forms.CharField(
        label="Your password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def code_field():
    return forms.CharField(
        label="6-digit code from your authenticator app",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class EnrolForm(PasswordReentryMixin, HardenedFormMixin, forms.Form):
    error_messages = {
        "wrong_password": "That is not your current password.",
        "invalid": "Enter the 6 digits shown in your authenticator app.",
    }
    password = password_field()
    token = code_field()

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if not SIX_DIGITS.fullmatch(token):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return token


class PasswordOnlyForm(PasswordReentryMixin, HardenedFormMixin, forms.Form):
    error_messages = {"wrong_password": "That is not your current password."}
    password = password_field()


class VerifyForm(HardenedFormMixin, forms.Form):
    """The code from the authenticator app, or one of the recovery codes."""

    error_messages = {"invalid": "Enter the 6 digits from your app, or a recovery code like abcde-fghjk."}
    token = forms.CharField(
        label="Code from your authenticator app (or a recovery code)",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def clean_token(self):
        from trialplanner.accounts.models import CODE_ALPHABET, CODE_LENGTH, normalise_code

        token = normalise_code(self.cleaned_data["token"])
        if SIX_DIGITS.fullmatch(token):
            self.kind = "totp"
        elif len(token) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in token):
            self.kind = "recovery"
        else:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return token


class MemberResetForm(PasswordReentryMixin, HardenedFormMixin, forms.Form):
    """A lead picks a member (by user name, never a database id) and confirms with their password."""

    error_messages = {"wrong_password": "That is not your current password."}
    member = forms.ChoiceField(label="Member whose authenticator is lost")
    password = password_field()

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {m.get_username(): m for m in members}
        self.fields["member"].choices = [("", "Choose a member")] + [
            (name, m.get_full_name() or name) for name, m in self.members.items()
        ]

    def clean_member(self):
        return self.members[self.cleaned_data["member"]]


class AuditedPasswordResetForm(PasswordResetForm):
    """Django's reset form (the same answer whether or not the address is known), audited per e-mail sent."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):  # fmt: skip
        from trialplanner.audit.models import AuditEvent
        from trialplanner.audit.services import audit_log

        user = context["user"]
        audit_log(
            AuditEvent.Action.SECURITY, user, object_type="password", user=user, detail="password reset e-mail sent"
        )
        super().send_mail(
            subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name
        )
