#!/bin/sh
# The official mysql image's contract, on MariaDB: on the first start (an empty /var/lib/mysql) create
# the system tables, root@MYSQL_ROOT_HOST with MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, then run
# /docker-entrypoint-initdb.d/*.sql and *.sh once; then run the server in the foreground.
# The server's socket lives in the data directory, so that a second container on the same directory
# (`kamal accessory exec db` without --reuse) can reach it: see mysql-set-root-password.
set -eu
DATADIR=/var/lib/mysql
SOCKET=$DATADIR/mysqld.sock
mkdir -p /run/mysqld
ln -sf "$SOCKET" /run/mysqld/mysqld.sock  # where the clients look by default

sql_string() {  # a value as an SQL string literal
  printf "'%s'" "$(printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g")"
}

case "${1:-mariadbd}" in
  -*) set -- mariadbd "$@" ;;
  mariadbd | mysqld) ;;
  *) exec "$@" ;;
esac
[ $# -gt 0 ] || set -- mariadbd
shift
chown mysql:mysql /run/mysqld "$DATADIR"

if [ ! -d "$DATADIR/mysql" ]; then
  if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ]; then
    echo "database is uninitialized and MYSQL_ROOT_PASSWORD is not set" >&2
    exit 1
  fi
  echo "initialising the database in $DATADIR"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db \
    --auth-root-authentication-method=socket > /dev/null
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$SOCKET" "$@" &
  server=$!
  tries=0
  until mariadb-admin --socket="$SOCKET" ping > /dev/null 2>&1; do
    tries=$((tries + 1))
    if [ $tries -gt 300 ] || ! kill -0 $server 2> /dev/null; then
      echo "the database did not start for its initialisation" >&2
      exit 1
    fi
    sleep 0.1
  done
  password=$(sql_string "${MYSQL_ROOT_PASSWORD:-}")
  host=$(sql_string "${MYSQL_ROOT_HOST:-%}")
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD($password);"
    if [ "${MYSQL_ROOT_HOST:-%}" != localhost ]; then
      echo "CREATE USER 'root'@$host IDENTIFIED BY $password;"
      echo "GRANT ALL ON *.* TO 'root'@$host WITH GRANT OPTION;"
    fi
    if [ -n "${MYSQL_DATABASE:-}" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$SOCKET" -uroot
  for file in /docker-entrypoint-initdb.d/*; do
    case "$file" in
      *.sql) echo "running $file"; mariadb --socket="$SOCKET" -uroot ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} < "$file" ;;
      *.sql.gz) echo "running $file"; gunzip -c "$file" | mariadb --socket="$SOCKET" -uroot ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} ;;
      *.sh) echo "running $file"; . "$file" ;;
      *) ;;
    esac
  done
  mariadb-admin --socket="$SOCKET" -uroot shutdown
  wait $server || true
  echo "database initialised"
fi

exec mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET" "$@"
