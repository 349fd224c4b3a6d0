"""Fleet and release state as pandas tables, from one remote command per host.

    from kamal_nb.state import gather
    state = gather(ctx)                  # FleetState; its repr is an overview
    state.servers.df, state.releases.df, state.containers.df, state.images.df,
    state.audit.df, state.lock.df, state.findings.df    # data: a missing value is NA
    state.releases.view("host", "version", "status")   # display-ready: a missing value is "—"
    view(frame)                                         # any frame of your own, shown the same way

Modules, one concept each: ``deployment`` (what the tables need from the config), ``probe`` (the
remote command), ``parse`` and ``model`` (its output as values), ``releases_logic`` (how Kamal tells
the current release), ``table`` (the result object), ``view`` (a frame shown display-ready), one module per table, ``findings``,
``fleet_state`` (FleetState and gather) and ``operation`` (the catalog entry ``state``).
pandas is imported only when a DataFrame is built.
"""

from kamal_nb.state.deployment import AccessoryInfo, Deployment, RoleInfo
from kamal_nb.state.findings import Finding
from kamal_nb.state.fleet_state import TABLES, FleetState, gather, probe_fleet
from kamal_nb.state.probe import Probe, ProbeOutput, SectionOutput
from kamal_nb.state.table import Column, Table
from kamal_nb.state.view import View, view

__all__ = [
    "TABLES",
    "AccessoryInfo",
    "Column",
    "Deployment",
    "Finding",
    "FleetState",
    "Probe",
    "ProbeOutput",
    "RoleInfo",
    "SectionOutput",
    "Table",
    "View",
    "gather",
    "probe_fleet",
    "view",
]
