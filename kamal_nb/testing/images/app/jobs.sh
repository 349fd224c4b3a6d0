#!/bin/sh
# jobs role: no HTTP; a heartbeat on stdout, and a prompt exit on SIGTERM.
echo "jobs started version=$APP_VERSION"
trap 'echo "jobs stopping"; exit 0' TERM INT
while :; do sleep 5 & wait $!; done
