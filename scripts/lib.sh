# Shared by scripts/dev, scripts/test, scripts/conformance and scripts/bench: the local services,
# started on free ports and stopped on exit. Source it from the repository root.

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

# moto in server mode on a free port, enforcing IAM. moto checks every request's signature and
# action against IAM once it has served INITIAL_NO_AUTH_ACTION_COUNT requests unauthenticated:
# every request to a service counts, answered or refused (a GET / too: it is S3's ListBuckets);
# the port probe (TCP only) and /moto-api/ do not. The allowance is exactly the bootstrap's
# three calls (CreateUser, PutUserPolicy, CreateAccessKey) for an administrator user allowed `*`
# on `*`; from then on only keys of moto's IAM users are accepted (`testing` is refused with
# InvalidClientTokenId). Exports the administrator's key as AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY, so whatever uses the environment's credentials (provisioning, the
# tests, the local gateway, the bench) runs as the administrator, and STRONGROOM_MOTO_IAM=enforced.
MOTO_ADMIN_USER=strongroom-admin
MOTO_BOOTSTRAP_ACTIONS=3

# Prints "<access key id> <secret access key>" of a new administrator user of the moto at $1,
# after checking that moto now refuses unknown credentials and accepts the administrator's.
moto_bootstrap_admin() { # endpoint
  .venv/bin/python - "$1" "$MOTO_ADMIN_USER" "$MOTO_BOOTSTRAP_ACTIONS" <<'PY'
import json, sys
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

endpoint, user, allowance = sys.argv[1], sys.argv[2], int(sys.argv[3])
# No retries: a retried request would spend the unauthenticated allowance twice.
config = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=30)

def client(service, key, secret):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, config=config)

def fail(message):
    print(f"moto IAM bootstrap: {message}", file=sys.stderr)
    sys.exit(1)

calls = 0
try:
    iam = client("iam", "bootstrap", "bootstrap")  # any key, within the allowance
    iam.create_user(UserName=user); calls += 1
    iam.put_user_policy(UserName=user, PolicyName="administrator", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})); calls += 1
    key = iam.create_access_key(UserName=user)["AccessKey"]; calls += 1
except (BotoCoreError, ClientError) as error:
    fail(f"call {calls + 1} of {allowance} unauthenticated ones failed: {error}")
assert calls == allowance, "MOTO_BOOTSTRAP_ACTIONS must be the number of bootstrap calls"

try:
    client("iam", "bootstrap", "bootstrap").list_users()
    fail("moto still answers unknown credentials: it does not enforce IAM "
         "(is INITIAL_NO_AUTH_ACTION_COUNT honoured?)")
except ClientError as error:
    if error.response["ResponseMetadata"]["HTTPStatusCode"] != 403:
        fail(f"unknown credentials were refused, but not with 403: {error}")
try:
    admin = client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    arn = admin.get_user(UserName=user)["User"]["Arn"]
except (BotoCoreError, ClientError) as error:
    fail(f"the administrator's key is refused: {error}")
print(f"moto IAM bootstrap: enforcing; administrator {arn}", file=sys.stderr)
print(key["AccessKeyId"], key["SecretAccessKey"])
PY
}

start_moto() { # log file
  local port pid attempt credentials
  for attempt in 1 2 3; do
    port=$(free_port)
    INITIAL_NO_AUTH_ACTION_COUNT=$MOTO_BOOTSTRAP_ACTIONS \
      .venv/bin/python scripts/moto_server.py -H 127.0.0.1 -p "$port" >"$1" 2>&1 &
    pid=$!
    # Another process may take the free port first: then moto exits, and we try another port.
    if wait_for_port "$port" 30 && kill -0 "$pid" 2>/dev/null \
      && credentials=$(moto_bootstrap_admin "http://127.0.0.1:$port"); then
      STRONGROOM_PIDS+=("$pid")
      break
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    credentials=
    echo "moto on port $port did not start enforcing IAM (attempt $attempt of 3); see $1" >&2
  done
  if [ -z "$credentials" ]; then
    echo "moto did not start with IAM enforced; its log:" >&2
    tail -n 40 "$1" >&2
    return 1
  fi
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY <<<"$credentials"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  export STRONGROOM_MOTO_IAM=enforced
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
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c log_statement=all" >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  export STRONGROOM_TEST_PG_HOST=127.0.0.1 STRONGROOM_TEST_PG_PORT="$port"
  export STRONGROOM_TEST_PG_USER=strongroom_admin STRONGROOM_TEST_PG_PASSWORD="$password"
  # Every statement is logged, so tests can show a rotation's passwords never reach the log.
  export STRONGROOM_TEST_PG_LOG="$dir/server.log"
}

# A throwaway ClickHouse on free ports, reached over its HTTP interface, with a user whose
# password it checks (the package's own users file lets `default` in without one). Installs
# Debian's clickhouse-server when it is missing; runs it with the package's config, its
# settings overridden on the command line, and a users file of its own.
start_clickhouse() {
  local dir http tcp interserver password admin_password pid attempt
  if ! command -v clickhouse-server >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "clickhouse-server is missing; install it (apt-get install clickhouse-server) as root" >&2; return 1; }
    echo "== installing clickhouse-server (Debian's package)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server >/dev/null \
      || { echo "clickhouse-server could not be installed" >&2; return 1; }
  fi
  dir=$(mktemp -d /tmp/strongroom-clickhouse.XXXXXX)
  password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  admin_password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <quotas><default></default></quotas>
  <users>
    <default><password>$admin_password</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <strongroom><password>$password</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></strongroom>
  </users>
</yandex>
XML
  STRONGROOM_CLEANUP+=("rm -rf $dir")
  for attempt in 1 2 3; do
    http=$(free_port) tcp=$(free_port) interserver=$(free_port)
    clickhouse-server --config-file=/etc/clickhouse-server/config.xml -- \
      --http_port="$http" --tcp_port="$tcp" --interserver_http_port="$interserver" \
      --listen_host=127.0.0.1 --path="$dir/data/" --tmp_path="$dir/tmp/" \
      --user_files_path="$dir/user_files/" --format_schema_path="$dir/format_schemas/" \
      --users_config="$dir/users.xml" --logger.log="$dir/server.log" \
      --logger.errorlog="$dir/error.log" >"$dir/stdout.log" 2>&1 &
    pid=$!
    # Another process may take a free port first: then the server exits, and we try others.
    if wait_for_port "$http" 60 && kill -0 "$pid" 2>/dev/null \
      && clickhouse_answers "$http" strongroom "$password"; then
      # Stopped before the cleanup removes its directory.
      STRONGROOM_CLEANUP=("kill $pid; wait $pid" "${STRONGROOM_CLEANUP[@]}")
      export STRONGROOM_TEST_CLICKHOUSE_HOST=127.0.0.1 STRONGROOM_TEST_CLICKHOUSE_PORT="$http"
      export STRONGROOM_TEST_CLICKHOUSE_USER=strongroom STRONGROOM_TEST_CLICKHOUSE_PASSWORD="$password"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "ClickHouse on port $http did not start (attempt $attempt of 3)" >&2
  done
  echo "ClickHouse did not start; its logs:" >&2
  tail -n 20 "$dir/stdout.log" "$dir/error.log" >&2 2>/dev/null
  return 1
}

clickhouse_answers() { # port user password
  python3 - "$@" <<'PY'
import base64, sys, time, urllib.request
port, user, password = sys.argv[1:]
request = urllib.request.Request(f"http://127.0.0.1:{port}/?query=SELECT%201", headers={
    "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()})
deadline = time.time() + 30
while time.time() < deadline:
    try:
        if urllib.request.urlopen(request, timeout=2).read().strip() == b"1":
            sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
}
