"""Backups: create, list, restore, verify, retention; the scheduled backup and drill."""
