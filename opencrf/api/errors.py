"""REDCap's errors: a message and an HTTP status, rendered in the caller's return format."""

from __future__ import annotations


class ApiError(Exception):
    """An error REDCap clients recognise (spec §1.6). The message is REDCap's English text."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


NO_PERMISSION = "You do not have permissions to use the API"
NO_IMPORT = "You do not have API Import/Update privileges"
NO_DELETE = "You do not have Delete Record privileges"  # clients match on this wording


def forbidden(message: str = NO_PERMISSION) -> ApiError:
    return ApiError(message, status=403)
