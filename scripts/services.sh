# Throwaway Redis, PostgreSQL and an SMTP server (maildev, from end2end's npm
# packages) for the tests, on free ports, in a temp dir.
# Source this file, then: start_services; ...; stop_services (or trap it).
# Exports TEST_REDIS_URL, TEST_POSTGRES_URL, TEST_SMTP_PORT, TEST_MAILDEV_URL
# (maildev's REST API) and TEST_MAILDEV_BIN (for tests that start their own).

SERVICES_DIR=""

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_services() {
  SERVICES_DIR=$(mktemp -d /tmp/mobile-auth-services.XXXXXX)
  chmod 755 "$SERVICES_DIR"

  local redis_port; redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$SERVICES_DIR/redis.pid" --logfile "$SERVICES_DIR/redis.log" --dir "$SERVICES_DIR" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null || { echo "redis did not start"; cat "$SERVICES_DIR/redis.log"; return 1; }
  export TEST_REDIS_URL="redis://127.0.0.1:$redis_port/"

  local pg_bin; pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  local pg_port; pg_port=$(free_port)
  local as_postgres=()
  [ "$(id -u)" -eq 0 ] && as_postgres=(runuser -u postgres --)
  mkdir -p "$SERVICES_DIR/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres "$SERVICES_DIR/pg"
  "${as_postgres[@]}" "$pg_bin/initdb" -D "$SERVICES_DIR/pg/data" -U postgres --auth=trust -E UTF8 >"$SERVICES_DIR/pg-init.log" 2>&1 \
    || { cat "$SERVICES_DIR/pg-init.log"; return 1; }
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$SERVICES_DIR/pg/data" -l "$SERVICES_DIR/pg/log" -w -o \
    "-p $pg_port -k $SERVICES_DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null \
    || { cat "$SERVICES_DIR/pg/log"; return 1; }
  export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port"

  local repo; repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local maildev="$repo/end2end/node_modules/.bin/maildev"
  [ -x "$maildev" ] || { echo "maildev is missing: run scripts/setup.sh"; return 1; }
  local smtp_port; smtp_port=$(free_port)
  local web_port; web_port=$(free_port)
  mkdir -p "$SERVICES_DIR/mail"
  "$maildev" --smtp "$smtp_port" --web "$web_port" --ip 127.0.0.1 --web-ip 127.0.0.1 \
    --mail-directory "$SERVICES_DIR/mail" >"$SERVICES_DIR/maildev.log" 2>&1 &
  echo $! >"$SERVICES_DIR/maildev.pid"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$web_port/api/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$web_port/api/healthz" >/dev/null || { echo "maildev did not start"; cat "$SERVICES_DIR/maildev.log"; return 1; }
  export TEST_SMTP_PORT="$smtp_port"
  export TEST_MAILDEV_URL="http://127.0.0.1:$web_port"
  export TEST_MAILDEV_BIN="$maildev"
  echo "services: redis on $redis_port, postgresql on $pg_port, smtp on $smtp_port (maildev API on $web_port)"
}

stop_services() {
  [ -n "$SERVICES_DIR" ] || return 0
  if [ -f "$SERVICES_DIR/redis.pid" ]; then kill "$(cat "$SERVICES_DIR/redis.pid")" 2>/dev/null || true; fi
  if [ -f "$SERVICES_DIR/maildev.pid" ]; then kill "$(cat "$SERVICES_DIR/maildev.pid")" 2>/dev/null || true; fi
  local pg_bin; pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [ -d "$SERVICES_DIR/pg/data" ]; then
    if [ "$(id -u)" -eq 0 ]; then
      runuser -u postgres -- "$pg_bin/pg_ctl" -D "$SERVICES_DIR/pg/data" -m fast stop >/dev/null 2>&1 || true
    else
      "$pg_bin/pg_ctl" -D "$SERVICES_DIR/pg/data" -m fast stop >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$SERVICES_DIR"
  SERVICES_DIR=""
}
