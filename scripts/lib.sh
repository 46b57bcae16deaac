# Shared by scripts/dev and scripts/test: the local services, started on free ports and
# stopped on exit. Source it from the repository root.

STRONGROOM_PIDS=()
STRONGROOM_CLEANUP=()

strongroom_cleanup() {
  local pid step
  for step in "${STRONGROOM_CLEANUP[@]}"; do eval "$step" >/dev/null 2>&1 || true; done
  for pid in "${STRONGROOM_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# The .venv with moto, SAM CLI, cfn-lint and cargo-lambda, reinstalled when the requirements change.
ensure_venv() {
  if [ ! -x .venv/bin/python ] || [ requirements-dev.txt -nt .venv/.installed ]; then
    echo "== installing Python tools into .venv (moto, aws-sam-cli, cfn-lint, cargo-lambda)"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -r requirements-dev.txt
    touch .venv/.installed
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # port seconds
  python3 - "$1" "$2" <<'PY'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}

# moto in server mode on a free port; exports the AWS settings every SDK client reads.
start_moto() { # log file
  local port
  port=$(free_port)
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$1" 2>&1 &
  STRONGROOM_PIDS+=($!)
  wait_for_port "$port" 30 || { echo "moto did not start; see $1" >&2; return 1; }
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

# A throwaway PostgreSQL cluster that checks passwords (scram-sha-256): the machine's own
# server trusts every local connection, which would make every password test pass.
start_scram_postgres() {
  local bin dir port password as_pg=()
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; return 1; }
  dir=$(mktemp -d /tmp/strongroom-pg.XXXXXX)
  port=$(free_port)
  password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  printf '%s\n' "$password" >"$dir/pwfile"
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres: "$dir"
    as_pg=(runuser -u postgres --)
  fi
  STRONGROOM_CLEANUP+=("${as_pg[*]} $bin/pg_ctl stop -D $dir/data -m immediate; rm -rf $dir")
  "${as_pg[@]}" "$bin/initdb" -D "$dir/data" -A scram-sha-256 -U strongroom_admin \
    --pwfile="$dir/pwfile" --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  "${as_pg[@]}" "$bin/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  export STRONGROOM_TEST_PG_HOST=127.0.0.1 STRONGROOM_TEST_PG_PORT="$port"
  export STRONGROOM_TEST_PG_USER=strongroom_admin STRONGROOM_TEST_PG_PASSWORD="$password"
}
