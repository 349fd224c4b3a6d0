#!/bin/sh
# web role: list the environment's variable names (values stay inside), then serve until SIGTERM.
awk 'BEGIN { for (name in ENVIRON) print name }' | sort > /www/env
# STOP_DELAY: seconds a stop takes (SIGTERM handled slowly), for tests of what waits for it
trap 'sleep "${STOP_DELAY:-0}"; exit 0' TERM INT
/bin/busybox httpd -f -p 3000 -h /www &
wait
