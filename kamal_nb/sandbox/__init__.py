"""The sandbox fleet: Kamal hosts that are local directories, for machines without root, dockerd or
sshd (mybinder.org). The same notebooks and operations run on it as on a real fleet.

- hosts are directories (``DIR/hosts/<host>``): each is its host's home, so ``.kamal/...`` lands there;
- commands run in a local bash with that directory as working directory and HOME (``SandboxPool``);
- ``docker`` is an emulator of the docker commands kamal_nb and Kamal emit (``docker_emulator``),
  keeping containers, images, labels, networks and volumes in JSON under the host directory, pulling
  from a shared sandbox registry, and playing kamal-proxy's routes.

Select it with ``KAMAL_NB_BACKEND=sandbox`` and ``KAMAL_NB_SANDBOX_DIR=DIR`` (read by ``kamal-nb`` and
``%kamal``), or ``Session(backend=sandbox_backend(DIR))`` (``kamal_nb.sandbox.backend``); create one with
``python -m kamal_nb.sandbox init DIR --hosts 3``. It is a demo device: operations are tested on the
real test fleet. This module stays import-light (the docker shim imports the emulator per command).
"""

from __future__ import annotations

BACKEND_ENV = "KAMAL_NB_BACKEND"
SANDBOX_DIR_ENV = "KAMAL_NB_SANDBOX_DIR"
SANDBOX = "sandbox"
