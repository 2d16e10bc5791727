import json

from django import forms

from trialplanner.interop.cds_auth import public_keys
from trialplanner.interop.fhir_import import MAX_BUNDLE_BYTES, BundleError, parse_bundle
from trialplanner.interop.models import CdsClient


class BundleUploadForm(forms.Form):
    """A FHIR Bundle pasted or uploaded; cleaned into `bundle` (a dict) and `raw` (the text)."""

    error_messages = {
        "none": "Paste a FHIR Bundle (JSON) or choose a file.",
        "both": "Paste the bundle or choose a file, not both.",
        "too_big": f"The file is larger than {MAX_BUNDLE_BYTES // 1024} KB. Export only this patient.",
    }

    bundle_text = forms.CharField(
        label="Paste a FHIR R4 Bundle (JSON)",
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 10, "class": "font-monospace", "spellcheck": "false"}),
        max_length=MAX_BUNDLE_BYTES,
    )
    bundle_file = forms.FileField(label="or upload a .json file", required=False)

    def clean(self):
        cleaned = super().clean()
        text, upload = cleaned.get("bundle_text"), cleaned.get("bundle_file")
        if self.errors:
            return cleaned
        if not text and not upload:
            self.add_error("bundle_text", forms.ValidationError(self.error_messages["none"], code="none"))
            return cleaned
        if text and upload:
            self.add_error("bundle_file", forms.ValidationError(self.error_messages["both"], code="both"))
            return cleaned
        field = "bundle_file" if upload else "bundle_text"
        if upload and upload.size > MAX_BUNDLE_BYTES:
            self.add_error(field, forms.ValidationError(self.error_messages["too_big"], code="too_big"))
            return cleaned
        raw = upload.read() if upload else text
        try:
            cleaned["bundle"] = parse_bundle(raw)
        except BundleError as exc:
            self.add_error(field, forms.ValidationError(str(exc), code="bad_bundle"))
            return cleaned
        cleaned["raw"] = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return cleaned


class ConfirmBundleForm(forms.Form):
    """The previewed bundle, sent back with the confirmation and parsed again (never trusted)."""

    bundle = forms.CharField(widget=forms.HiddenInput, max_length=MAX_BUNDLE_BYTES * 2, strip=False)

    def clean_bundle(self):
        try:
            return parse_bundle(self.cleaned_data["bundle"])
        except BundleError as exc:
            raise forms.ValidationError(str(exc), code="bad_bundle") from None


class CdsClientForm(forms.Form):
    """A CDS client registration: who signs, with which public keys, for which MRN system."""

    error_messages = {
        "not_json": 'Paste the JWKS as JSON (an object with a "keys" list).',
        "issuer_taken": "Another CDS client is already registered with this issuer.",
    }

    name = forms.CharField(max_length=120, help_text="What the EHR is called here, e.g. 'Main hospital EHR'.")
    issuer = forms.CharField(max_length=300, help_text="The `iss` value in the EHR's JWTs.")
    jwks = forms.CharField(
        label="Public keys (JWKS)",
        widget=forms.Textarea(attrs={"rows": 8, "class": "font-monospace", "spellcheck": "false"}),
        max_length=50_000,
        help_text="Paste the EHR's JSON Web Key Set. Keys are never fetched from a URL.",
    )
    patient_identifier_system = forms.CharField(
        max_length=300, help_text="Identifier system of the EHR's MRNs; patients are matched on it only."
    )

    def clean_issuer(self):
        issuer = self.cleaned_data["issuer"].strip()
        if CdsClient.objects.filter(issuer=issuer).exists():
            raise forms.ValidationError(self.error_messages["issuer_taken"], code="issuer_taken")
        return issuer

    def clean_jwks(self):
        try:
            jwks = json.loads(self.cleaned_data["jwks"])
        except (json.JSONDecodeError, RecursionError):  # RecursionError: nested past the parser's depth
            raise forms.ValidationError(self.error_messages["not_json"], code="not_json") from None
        try:
            public_keys(jwks)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="bad_key") from None
        return jwks
