"""Data collection pages, one module per page family.

`dashboard` (the record status dashboard and adding a record), `record` (a record's home and the
pages acting on a whole record), `form` (data entry: saving, conflicts, deleting a form's data,
file downloads), `history` (a field's history). `design` and `form_page` hold what the families
share: the project's design as the pages draw it, and the shape of one data entry page;
`form_render` draws that page. Views parse the request, call a selector or service and render.
"""
