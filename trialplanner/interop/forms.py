from django import forms

from trialplanner.interop.fhir_import import MAX_BUNDLE_BYTES, BundleError, parse_bundle


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
