"""SSH transport: connection pool, parallel per-host execution, uploads, the stream of host events.

It never knows what Kamal is: it runs steps on hosts and reports what happened, host by host.
"""

from kamal_nb.fleet.events import EventStream, Failed, Finished, HostEvent, Output, Started
from kamal_nb.fleet.hostkeys import HostKeyError
from kamal_nb.fleet.pool import ConnectionPool, HostUnreachable
from kamal_nb.fleet.results import CommandResult, GroupResult, HostFailures, HostResult
from kamal_nb.fleet.runner import Batch, FleetRunner, RemoteCommand, Step, Upload
from kamal_nb.fleet.settings import SshSettings

__all__ = [
    "Batch",
    "CommandResult",
    "ConnectionPool",
    "EventStream",
    "Failed",
    "Finished",
    "FleetRunner",
    "GroupResult",
    "HostEvent",
    "HostFailures",
    "HostKeyError",
    "HostResult",
    "HostUnreachable",
    "Output",
    "RemoteCommand",
    "SshSettings",
    "Started",
    "Step",
    "Upload",
]
