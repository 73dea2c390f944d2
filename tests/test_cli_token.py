"""`opencrf token`: API tokens for scripted set-ups, printed alone on standard output."""

from __future__ import annotations

import re

from tests.test_cli import data_dir, password_file, run, shown  # noqa: F401 - fixtures


def test_tokens_are_printed_once_refused_twice_and_regenerated_on_request(
    data_dir,  # noqa: F811
    password_file,  # noqa: F811
):
    init = run(
        "init", "--admin", "x_admin", "--password-file", str(password_file), data_dir=data_dir
    )
    assert init.returncode == 0, shown(init)
    demo = run("demo", "--owner", "x_admin", data_dir=data_dir)
    project = re.search(r"project (\d+)", demo.stdout).group(1)  # type: ignore[union-attr]

    first = run("token", "--user", "x_admin", "--project", project, data_dir=data_dir)
    again = run("token", "--user", "x_admin", "--project", project, data_dir=data_dir)
    renewed = run(
        "token", "--user", "x_admin", "--project", project, "--regenerate", data_dir=data_dir
    )
    super_token = run("token", "--user", "x_admin", "--super", data_dir=data_dir)

    assert re.fullmatch(r"[0-9A-F]{32}\n", first.stdout), shown(first)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == "opencrf token: x_admin already has an API token for this project.\n"
    assert re.fullmatch(r"[0-9A-F]{32}\n", renewed.stdout) and renewed.stdout != first.stdout
    assert re.fullmatch(r"[0-9A-F]{64}\n", super_token.stdout), shown(super_token)


def test_unknown_users_and_projects_are_named_in_one_line(data_dir, password_file):  # noqa: F811
    run("init", "--admin", "x_admin", "--password-file", str(password_file), data_dir=data_dir)

    nobody = run("token", "--user", "nobody", "--super", data_dir=data_dir)
    no_project = run("token", "--user", "x_admin", "--project", "999", data_dir=data_dir)

    assert (nobody.returncode, nobody.stderr) == (1, "opencrf token: no user named nobody\n")
    assert (no_project.returncode, no_project.stderr) == (1, "opencrf token: no project 999\n")
