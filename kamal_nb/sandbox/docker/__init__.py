"""The sandbox's docker emulator, by concern: argument parsing (args), the engine's state (engine),
containers, images, networks and volumes, builds, and the engine itself (system). The entry point
that dispatches a command line is kamal_nb.sandbox.docker_emulator."""
