from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from opencrf.core.forms import StyledForm


class DictionaryUploadForm(StyledForm):
    file = forms.FileField(
        label=_("Data dictionary (CSV)"),
        help_text=_("REDCap's 18 columns, UTF-8, with the web or the API column headers."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
