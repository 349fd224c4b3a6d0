"""Where and how images are built, below the operations: the engines kamal_nb builds on.

- ``session``: the BuildKit session kamal_nb serves to an engine (build secrets, registry login);
- ``buildkit``: a build on an engine's built-in BuildKit (``POST /build?version=2``);
- ``buildx``: whether this machine has docker and its buildx plugin (a quiet probe);
- ``remote``: a remote engine's API reached through an SSH connection (``docker system dial-stdio``);
- ``local_registry``: Kamal's local registry reached from hosts through SSH remote port forwarding;
- ``registry_api``: a registry's HTTP API, for the manifest list of a multi-arch build.

Nothing here imports ``kamal_nb.ops``: the operations call down into it.
"""
