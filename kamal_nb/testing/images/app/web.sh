#!/bin/sh
# web role: list the environment's variable names (values stay inside), then serve until SIGTERM.
awk 'BEGIN { for (name in ENVIRON) print name }' | sort > /www/env
trap 'exit 0' TERM INT
/bin/busybox httpd -f -p 3000 -h /www &
wait
