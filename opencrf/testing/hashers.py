"""Argon2 at the lowest cost, for the test suite only (opencrf.testing.env installs it).

Production hashes each password with Argon2id at Django's cost (about 0.1-0.6 s and 100 MiB
on a small machine, on purpose). Most tests create users they never sign in with, and a few
thousand such hashes were a third of the suite's time. The algorithm, the stored format
(`argon2$argon2id$...`) and the checking code stay Django's; only the work factors shrink.
The browser and CLI tests run `opencrf` in a subprocess, with the production hasher.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64  # KiB: argon2's floor is 8 per lane
    parallelism = 1
