"""Pure builders of the commands Kamal 2.12 sends to hosts: no I/O, one module per Kamal command class.

Each builder returns a ``Command`` (an argv of tokens): ``cmd.wire()`` is the exact string Kamal
sends (secrets revealed, for the transport only), ``str(cmd)`` the same with secrets redacted.
Time, the performer, git facts and random suffixes are parameters, never read here.

    from kamal_nb.commands import App, Lock, Auditor, Proxy
    app = App(config, role="web", host="1.1.1.1")
    app.run(hostname=container_hostname("1.1.1.1", "0123456789ab")).wire()
"""

from kamal_nb.commands.accessory import Accessory
from kamal_nb.commands.app import App, container_hostname, replaced_version
from kamal_nb.commands.auditor import Auditor
from kamal_nb.commands.base import Base
from kamal_nb.commands.builder import Builder, GitCheckout
from kamal_nb.commands.command import Command, Sensitive, Token
from kamal_nb.commands.docker import Docker
from kamal_nb.commands.env_file import env_file
from kamal_nb.commands.hook import Hook
from kamal_nb.commands.lock import Lock
from kamal_nb.commands.proxy import Proxy
from kamal_nb.commands.prune import Prune
from kamal_nb.commands.registry import Registry
from kamal_nb.commands.server import Server
from kamal_nb.commands.tags import Tags, iso8601

__all__ = [
    "Accessory",
    "App",
    "Auditor",
    "Base",
    "Builder",
    "Command",
    "Docker",
    "GitCheckout",
    "Hook",
    "Lock",
    "Proxy",
    "Prune",
    "Registry",
    "Sensitive",
    "Server",
    "Tags",
    "Token",
    "container_hostname",
    "env_file",
    "iso8601",
    "replaced_version",
]
