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
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Recorder, planned, send


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


def push_env(ctx: Context, rec: Recorder) -> dict[str, list[str]]:
    """Write the env files; returns the paths written on each host."""
    work = env_files(ctx)
    replies = send(ctx, rec, {host: commands for host, (commands, _) in work.items()})
    written: dict[str, list[str]] = {}
    pending = {host: list(uploads) for host, (_, uploads) in work.items() if replies[host].ok}
    while pending:
        batch = {host: uploads.pop(0) for host, uploads in pending.items()}
        for host, reply in send(ctx, rec, batch).items():
            if reply.ok:
                written.setdefault(host, []).append(batch[host].path)
            else:
                pending[host] = []
        pending = {host: uploads for host, uploads in pending.items() if uploads}
    for host, paths in written.items():
        rec.say(f"{host}: wrote {', '.join(paths)} (mode 0600)")
    return written


def _plan(ctx: Context, args: Args) -> Plan:
    steps: list[PlannedStep] = []
    for host, (commands, uploads) in env_files(ctx).items():
        steps += planned(host, commands)
        for upload in uploads:
            steps += planned(host, upload)
    notes = ("under the deploy lock; nothing is restarted: containers see the new values at their next boot",)
    return Plan("env push", tuple(steps), notes)


def _run(ctx: Context, args: Args) -> OperationResult:
    from kamal_nb.ops.boot import run_locked

    return run_locked(ctx, "env push", lambda rec: push_env(ctx, rec))


register(
    ("env", "push"),
    "Push the env files of every role and accessory to their hosts (no reboot)",
    mutating=True,
    plan=_plan,
    run=_run,
)
