"""Test fixtures shipped with the package: the real test fleet (network namespaces, dockerd, sshd, registry)."""
