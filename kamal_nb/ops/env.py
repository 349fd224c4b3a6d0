"""`kamal env push` (a kamal_nb extra; Kamal 1 had it, Kamal 2 dropped it: basecamp/kamal#1180,
#1700): write every role's and accessory's Kamal 2 env file to its hosts, at the paths and with the
content `app boot` and `accessory boot` write (mode 0600), without rebooting anything. The running
containers keep their environment until their next boot; `docker run`/`kamal app exec` use the new
files at once.

Per host: one round trip (audit lines, `mkdir -p` of the env directories), then one upload per file.
"""

from __future__ import annotations

from kamal_nb.commands import Accessory, App
from kamal_nb.fleet import Upload
from kamal_nb.ops.arguments import NoArguments
from kamal_nb.ops.audit import audit
from kamal_nb.ops.script import Answers, Do, Gate, Phase, Script, Verdict, answered_ok, register_script
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd


def env_files(ctx: Context) -> dict[str, tuple[list[Cmd], list[Upload]]]:
    """Host -> (the round trip before the uploads, the uploads)."""
    config, selection = ctx.config, ctx.selection
    work: dict[str, tuple[list[Cmd], list[Upload]]] = {}
    for host in selection.hosts:
        commands: list[Cmd] = []
        uploads: list[Upload] = []
        directories: list[Cmd] = []
        for role in selection.roles_on(host):
            app = App(config, role=role, host=host)
            commands.append(Cmd(audit(ctx, f"Pushed env file {app.secrets_path}", role=role.name)))
            if not directories:
                directories.append(Cmd(app.ensure_env_directory()))
            uploads.append(Upload(app.secrets_path, app.secrets_io().reveal().encode(), 0o600))
        for accessory in config.accessories:
            if host not in accessory.hosts:
                continue
            builder = Accessory(config, name=accessory.name)
            commands.append(Cmd(audit(ctx, f"Pushed env file {builder.secrets_path}")))
            if not any(str(c.command) == str(builder.ensure_env_directory()) for c in directories):
                directories.append(Cmd(builder.ensure_env_directory()))
            uploads.append(Upload(builder.secrets_path, builder.secrets_io().reveal().encode(), 0o600))
        if uploads:
            work[host] = (commands + directories, uploads)
    return work


def env_push_script(ctx: Context) -> Script:
    """Per host: the audit lines and directories in one round trip, then each file's upload."""
    work = env_files(ctx)
    phase = {
        host: (*(Do(c.command) for c in commands), *(Do(u, capture=u.path, note="mode 0600") for u in uploads))
        for host, (commands, uploads) in work.items()
    }

    def written(answers: Answers) -> dict[str, list[str]]:
        return {
            host: [u.path for u in uploads if answered_ok(answers, host, u.path)]
            for host, (_, uploads) in work.items()
            if any(answered_ok(answers, host, u.path) for u in uploads)
        }

    def say(answers: Answers) -> Verdict:
        lines = [f"{host}: wrote {', '.join(paths)} (mode 0600)" for host, paths in written(answers).items()]
        return Verdict(messages=tuple(lines))

    notes = ("nothing is restarted: containers see the new values at their next boot",)
    items = (Phase(phase), Gate(say, "says which files were written"))
    return Script(
        "env push",
        items,
        lock=True,
        notes=notes,
        conclude=lambda answers, finished: written(answers),
        check_secrets=True,
    )


def _build(ctx: Context, args: NoArguments) -> Script:
    return env_push_script(ctx)


register_script(
    ("env", "push"),
    "Push the env files of every role and accessory to their hosts (no reboot)",
    mutating=True,
    build=_build,
    arguments=NoArguments,
)
