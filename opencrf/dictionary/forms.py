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


class LanguageAddForm(StyledForm):
    code = forms.CharField(
        label=_("Language code"),
        max_length=32,
        help_text=_("An ISO code: ja, en, en-US, zh-Hant…"),
    )
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=100,
        help_text=_("As participants read it, in the language itself: 日本語, English."),
    )


class TranslationUploadForm(StyledForm):
    file = forms.FileField(
        label=_("Translation file (CSV)"),
        help_text=_("Columns type, name, index, hash, default, translation; UTF-8."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
