"""The errors of backups and restores; each message is one line an operator can act on."""

from __future__ import annotations


class BackupError(Exception):
    """Base of every backup and restore error."""


class BackupFailed(BackupError):
    """A backup could not be made; the failed attempt is recorded."""


class BackupNotFound(BackupError):
    """No complete backup with that id in the store."""


class InvalidBackupId(BackupError):
    """A backup id that is not of the form the store writes (never a path)."""


class WrongKey(BackupError):
    """The backup is encrypted and the configured key is missing or not the one it was made with."""


class CorruptBackup(BackupError):
    """A part's checksum, size or encryption frame does not hold, or the manifest is unsafe."""


class RestoreRefused(BackupError):
    """The restore target is not empty, is the live installation, or is of another vendor."""
