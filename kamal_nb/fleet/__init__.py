"""SSH transport: connection pool, parallel per-host execution, uploads, the stream of host events."""
