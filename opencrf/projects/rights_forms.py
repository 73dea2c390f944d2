"""Forms of the user rights and data access group pages: they parse, services decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from opencrf.core.forms import StyledForm
from opencrf.projects.models import (
    RIGHT_FLAGS,
    DataAccessGroup,
    ExportRight,
    ProjectMember,
    ResolutionRight,
    RightsFields,
    Role,
)
from opencrf.projects.right_features import form_right_choices, offered, offered_flags
from opencrf.projects.rights import Rights


class RightsForm(StyledForm):
    """The on/off rights and, per instrument, the data-entry and export rights.

    `instruments` are (name, label) pairs; a member form adds role and expiry.
    """

    def __init__(
        self,
        data: Any,
        *,
        instruments: Sequence[tuple[str, str]],
        holder: RightsFields | None = None,
        roles: Sequence[Role] | None = None,
        name_field: bool = False,
    ) -> None:
        initial = _initial(holder, instruments)
        super().__init__(data, initial=initial)
        # Rights whose feature does not exist are not offered; their values are kept as held.
        self.kept = {name: initial[name] for name in RIGHT_FLAGS if not offered(name)}
        flags = {name: ProjectMember._meta.get_field(name) for name in offered_flags()}
        fields: dict[str, forms.Field] = {}
        if name_field:
            fields["name"] = forms.CharField(label=_("Role name"), max_length=100)
        if roles is not None:
            fields["role"] = forms.ModelChoiceField(
                label=_("Role"),
                queryset=Role.objects.filter(pk__in=[role.pk for role in roles]),
                required=False,
                empty_label=_("No role: the rights below"),
            )
            fields["expires_on"] = forms.DateField(
                label=_("Expires on"),
                required=False,
                input_formats=["%Y-%m-%d"],
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            )
        for name, model_field in flags.items():
            label = getattr(model_field, "verbose_name", name)
            fields[name] = forms.BooleanField(label=label, required=False)
        fields["data_resolution"] = forms.ChoiceField(
            label=_("Data resolution workflow (queries)"),
            choices=ResolutionRight.choices,
            required=False,
        )
        for name, label in instruments:
            fields[f"form__{name}"] = forms.ChoiceField(
                label=label, choices=form_right_choices(initial[f"form__{name}"]), required=True
            )
            fields[f"export__{name}"] = forms.ChoiceField(
                label=label, choices=ExportRight.choices, required=True
            )
        for form_field in fields.values():
            widget = form_field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs["class"] = "form-check-input"
            elif isinstance(widget, forms.Select):
                widget.attrs["class"] = "form-select form-select-sm"
            else:
                widget.attrs["class"] = "form-control"
        self.fields.update(fields)
        self.instruments = list(instruments)

    def rights(self) -> dict[str, Any]:
        """The cleaned rights, in the shape `rights_services` takes."""
        data = self.cleaned_data
        values: dict[str, Any] = {name: data.get(name, False) for name in offered_flags()}
        values.update(self.kept)
        # A post without the select (a script, an old page) keeps the right as held.
        values["data_resolution"] = data.get("data_resolution") or self.initial["data_resolution"]
        values["form_rights"] = {name: data[f"form__{name}"] for name, _label in self.instruments}
        values["export_rights"] = {
            name: data[f"export__{name}"] for name, _label in self.instruments
        }
        return values

    def flag_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in offered_flags()]

    def resolution_field(self) -> forms.BoundField:
        return self["data_resolution"]

    def instrument_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [
            (label, self[f"form__{name}"], self[f"export__{name}"])
            for name, label in self.instruments
        ]


def _initial(holder: RightsFields | None, instruments: Sequence[tuple[str, str]]) -> dict[str, Any]:
    rights = Rights.of(holder, None) if holder is not None else Rights()
    initial: dict[str, Any] = rights.flags()
    initial["data_resolution"] = rights.data_resolution
    for name, _label in instruments:
        initial[f"form__{name}"] = rights.form(name)
        initial[f"export__{name}"] = rights.export(name)
    if isinstance(holder, ProjectMember):
        initial["role"] = holder.role_id
        initial["expires_on"] = holder.expires_on
    if isinstance(holder, Role):
        initial["name"] = holder.name
    return initial


class MemberAddForm(StyledForm):
    username = forms.CharField(label=_("Username"), max_length=150)


class GroupForm(StyledForm):
    name = forms.CharField(label=_("Group name"), max_length=200)


class MemberGroupForm(forms.Form):
    """A member's current group (none: every record) and the groups they may switch to."""

    def __init__(self, data: Any, *, groups: Sequence[DataAccessGroup], member: ProjectMember):
        super().__init__(data, prefix=f"m{member.pk}")
        queryset = DataAccessGroup.objects.filter(pk__in=[group.pk for group in groups])
        self.fields["group"] = forms.ModelChoiceField(
            label=_("Data access group"),
            queryset=queryset,
            required=False,
            empty_label=_("No group: sees every record"),
            initial=member.group_id,
        )
        self.fields["allowed"] = forms.ModelMultipleChoiceField(
            label=_("May switch to"),
            queryset=queryset,
            required=False,
            initial=[group.pk for group in member.allowed_groups.all()],
            widget=forms.CheckboxSelectMultiple,
        )
