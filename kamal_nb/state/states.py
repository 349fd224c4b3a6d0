"""Docker's container states and health values, as the tables' categories."""

from __future__ import annotations

from kamal_nb.state.model import Container

# Ordered from healthy to gone: `df[df.state > "running"]` finds everything not running.
STATES = ("running", "restarting", "paused", "created", "removing", "exited", "dead")
HEALTHS = ("healthy", "starting", "unhealthy", "none")


def health_of(container: Container) -> str:
    """The health check's status, ``none`` when the container has no health check."""
    return container.health or "none"
