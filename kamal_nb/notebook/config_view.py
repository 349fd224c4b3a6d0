"""What `%kamal config` shows: the fleet a deploy.yml describes, as a table, and Kamal's YAML.

Loading it validates the configuration; nothing connects to a host.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from kamal_nb.config import Config


class ConfigView:
    def __init__(self, config: Config, yaml_text: str) -> None:
        self.config = config
        self.yaml = yaml_text

    @property
    def df(self) -> pd.DataFrame:
        """One row per host and role (then per accessory host): where each thing runs."""
        import pandas as pd

        config = self.config
        rows = []
        for role in config.roles:
            for host in role.hosts:
                rows.append(
                    {
                        "host": host,
                        "runs": f"role {role.name}",
                        "primary": host == config.primary_host and role.primary,
                        "tags": ", ".join(role.host_tags.get(host, ())),
                        "proxy": role.running_proxy,
                        "container": role.container_name(config.declared_version or "<version>"),
                    }
                )
        for accessory in config.accessories:
            for host in accessory.hosts:
                rows.append(
                    {
                        "host": host,
                        "runs": f"accessory {accessory.name}",
                        "primary": False,
                        "tags": "",
                        "proxy": accessory.running_proxy,
                        "container": accessory.service_name,
                    }
                )
        columns = ["host", "runs", "primary", "tags", "proxy", "container"]
        return pd.DataFrame(rows, columns=columns).astype(
            {
                "host": "string",
                "runs": "string",
                "primary": "boolean",
                "tags": "string",
                "proxy": "boolean",
                "container": "string",
            }
        )

    def summary(self) -> str:
        config = self.config
        where = f" -d {config.destination}" if config.destination else ""
        hosts = len(config.all_hosts)
        return (
            f"{config.service}{where}: image {config.repository}, {len(config.roles)} roles, "
            f"{len(config.accessories)} accessories on {hosts} hosts — valid (nothing was contacted)"
        )

    def __str__(self) -> str:
        return self.yaml.rstrip("\n")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        table = self.df.to_html(index=False, na_rep="")
        body = (
            f"<p><b>{html.escape(self.summary())}</b></p>{table}"
            f"<details><summary>the resolved configuration (secrets redacted)</summary>"
            f"<pre>{html.escape(self.yaml)}</pre></details>"
        )
        return {"text/plain": str(self), "text/html": body}
