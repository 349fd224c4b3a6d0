"""``kamal docs [SECTION]`` (``Kamal::Cli::Main#docs``): a commented example of a configuration
section, kamal_nb's own (kamal_nb/kamal_files/docs), for the sections Kamal documents.

Kamal finds the section as a constant, ``Kamal::Configuration.const_get(section.titlecase)``, so
``proxy``, ``PROXY``, `` proxy`` and even ``proxy_id`` all find proxy.yml, while ``proxy_run`` or
``configuration`` find nothing (``No documentation found for ...``). Without a section it prints
configuration.yml, the root of the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from kamal_nb.ops.catalog import Args
from kamal_nb.ops.local_result import LocalResult, local_result, puts, register_local
from kamal_nb.ops.session import Context

DOCS = Path(__file__).resolve().parents[2] / "kamal_files" / "docs"

# The Kamal::Configuration classes that include Validation, by constant name -> their doc file.
SECTIONS = {
    "Accessory": "accessory",
    "Alias": "alias",
    "Boot": "boot",
    "Builder": "builder",
    "Env": "env",
    "Logging": "logging",
    "Output": "output",
    "Proxy": "proxy",
    "Registry": "registry",
    "Role": "role",
    "Servers": "servers",
    "Ssh": "ssh",
    "Sshkit": "sshkit",
}


def docs(section: str | None) -> str:
    """What ``kamal docs [SECTION]`` prints."""
    if section is None:
        return puts(_read("configuration"))
    name = SECTIONS.get(titlecase(section))
    if name is None:
        return puts(f"No documentation found for {section}")
    return puts(_read(name))


def sections() -> list[str]:
    """The section names ``docs`` knows, as users write them."""
    return sorted(SECTIONS.values())


def _read(name: str) -> str:
    return (DOCS / f"{name}.yml").read_text(encoding="utf-8")


def titlecase(word: str) -> str:
    """ActiveSupport ``titleize`` (no inflection rules): underscore, humanize, capitalize words."""
    text = word
    if re.search(r"[A-Z-]|::", text):
        text = text.replace("::", "/")
        text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])|(?<=[a-z\d])(?=[A-Z])", "_", text)
        text = text.replace("-", "_").lower()
    humanized = text.replace("_", " ").lstrip()
    if text.endswith("_id"):
        humanized = humanized.removesuffix(" id")
    humanized = re.sub(r"[a-z\d]+", lambda m: m.group(0).lower(), humanized, flags=re.IGNORECASE)
    humanized = re.sub(r"\A\w", lambda m: m.group(0).upper(), humanized)
    return re.sub(r"\b(?<!\w['\u2019`()])[a-z]", lambda m: m.group(0).upper(), humanized)


def _run(ctx: Context, args: Args) -> LocalResult:
    section = args.get("section")
    return local_result("docs", docs(section), data=section)


def _notes(ctx: Context, args: Args) -> Sequence[str]:
    return (f"prints the documentation of {args.get('section') or 'the configuration'} ({', '.join(sections())})",)


register_local(("docs",), "Show Kamal configuration documentation", _run, _notes)
