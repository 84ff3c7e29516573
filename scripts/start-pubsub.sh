#!/bin/sh
# Start a throwaway Google Pub/Sub emulator for the push-notification tests and print how to reach it.
# Idempotent: reuses an emulator already answering on the port; the topic and subscription are
# created when missing. Usage: eval "$(scripts/start-pubsub.sh | sed 's/^/export /')"
# Prints exactly PUBSUB_EMULATOR_HOST=..., PUBSUB_TOPIC=..., PUBSUB_SUBSCRIPTION=... on stdout;
# progress goes to stderr, the emulator's own output to $PUBSUB_TEST_DIR/emulator.log.
#
# The instance: Google's emulator (Debian package google-cloud-cli-pubsub-emulator) on 127.0.0.1,
# in memory (a restart forgets every message), one topic that users.watch would publish to and one
# pull subscription on it. The ack deadline is Pub/Sub's minimum, 10 s, so that redelivery tests
# wait as little as possible. Tests make their own topics and subscriptions beside these.
set -eu

DIR="${PUBSUB_TEST_DIR:-/tmp/gmail-connector-pubsub}"
PORT="${PUBSUB_TEST_PORT:-5485}"
PROJECT="${PUBSUB_TEST_PROJECT:-gmail-connector-test}"
HOST_PORT="127.0.0.1:$PORT"
API="http://$HOST_PORT/v1"
TOPIC="projects/$PROJECT/topics/gmail-push"
SUBSCRIPTION="projects/$PROJECT/subscriptions/gmail-connector"
ACK_DEADLINE=10
# The JVM would otherwise size its heap from the machine (a quarter of RAM) while CI runs PostgreSQL,
# RT and django-helpdesk beside it; the emulator's tests need well under 100 MB of heap.
JVM_OPTS="${PUBSUB_TEST_JVM_OPTS:--Xms16m -Xmx128m -Xss512k -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
PIDFILE="$DIR/emulator.pid"
LOG="$DIR/emulator.log"

say() { echo "start-pubsub: $*" >&2; }

print_settings() {
    echo "PUBSUB_EMULATOR_HOST=$HOST_PORT"
    echo "PUBSUB_TOPIC=$TOPIC"
    echo "PUBSUB_SUBSCRIPTION=$SUBSCRIPTION"
}

answers() {   # a Pub/Sub API answers on the port (not merely some HTTP server)
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$API/projects/$PROJECT/topics" 2>/dev/null)" = "200" ]
}

put() {   # PUT a resource; "already exists" is what a second run finds, so it is success too
    code="$(curl -s -o "$DIR/put.out" -m 10 -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
        -d "$2" "$API/$1" 2>/dev/null)" || code="000"
    case "$code" in
        200 | 409) ;;
        *) say "error: PUT $1 answered HTTP $code: $(head -c 300 "$DIR/put.out" 2>/dev/null)"; exit 1 ;;
    esac
}

ensure_resources() {
    put "$TOPIC" '{}'
    put "$SUBSCRIPTION" "{\"topic\": \"$TOPIC\", \"ackDeadlineSeconds\": $ACK_DEADLINE}"
}

mkdir -p "$DIR/data" "$DIR/gcloud"

if answers; then
    say "the Pub/Sub emulator already answers on $HOST_PORT"
    ensure_resources
    print_settings
    exit 0
fi

installed() {   # gcloud and its emulator component (Debian: /usr/bin/gcloud -> /usr/lib/google-cloud-sdk/bin/gcloud)
    command -v curl >/dev/null 2>&1 && gcloud_bin="$(command -v gcloud 2>/dev/null)" &&
        [ -d "$(dirname "$(readlink -f "$gcloud_bin")")/../platform/pubsub-emulator/lib" ]
}

if ! installed; then
    say "installing the Pub/Sub emulator with apt-get (google-cloud-cli-pubsub-emulator, Java)"
    PKGS="google-cloud-cli-pubsub-emulator curl"
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PKGS >&2; then
        apt-get update -q >&2 || true
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PKGS >&2; then
            say "error: cannot install google-cloud-cli-pubsub-emulator (is Google's apt repository" \
                "https://packages.cloud.google.com/apt configured?)"
            exit 1
        fi
    fi
    if ! installed; then
        say "error: gcloud or its pubsub-emulator component is still missing after apt-get"
        exit 1
    fi
fi

running() {   # the process of the pid file is alive (and is the emulator, not a reused pid)
    [ -f "$PIDFILE" ] && grep -q pubsub "/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null
}
started=0
start_emulator() {
    say "starting the Pub/Sub emulator on $HOST_PORT (log: $LOG)"
    # setsid and no inherited descriptors: the emulator outlives this script and $(...) returns.
    # gcloud gets a config directory of its own, so nothing is written to the user's ~/.config.
    CLOUDSDK_CONFIG="$DIR/gcloud" CLOUDSDK_CORE_DISABLE_PROMPTS=1 \
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=1 CLOUD_PUBSUB_EMULATOR_OPTS="$JVM_OPTS" \
        setsid gcloud beta emulators pubsub start --host-port="$HOST_PORT" --project="$PROJECT" \
        --data-dir="$DIR/data" </dev/null >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    started=1
}
give_up() {   # the one-line reason last; an emulator this run started does not linger
    tail -n 20 "$LOG" >&2
    if [ "$started" = 1 ] && running; then
        kill -- "-$(cat "$PIDFILE")" 2>/dev/null || true
    fi
    say "error: $1 (log: $LOG)"
    exit 1
}
port_taken() {   # anything accepting connections; curl exits 7 only when nothing listens
    rc=0
    curl -s -o /dev/null -m 2 "http://$HOST_PORT/" 2>/dev/null || rc=$?
    [ "$rc" != 7 ]
}
if running; then
    say "emulator $(cat "$PIDFILE") is running but not answering yet; waiting for it"
elif port_taken; then
    say "error: $HOST_PORT is taken by something that is not a Pub/Sub emulator (set PUBSUB_TEST_PORT)"
    exit 1
else
    start_emulator
fi

# Five checks a second: it usually answers within 2 s, and a slow CI machine gets a minute.
tries=0
until answers; do
    if ! running; then
        if [ "$started" = 0 ]; then   # it was stopping, not starting
            start_emulator
        else
            give_up "the emulator exited before answering"
        fi
    fi
    # The emulator stays up after failing to bind its port, so waiting would only reach the timeout.
    if grep -q 'BindException' "$LOG" 2>/dev/null; then
        give_up "the emulator cannot listen on $HOST_PORT (address in use?)"
    fi
    if [ "$tries" -ge 300 ]; then
        give_up "the emulator did not answer on $HOST_PORT within 60 s"
    fi
    sleep 0.2
    tries=$((tries + 1))
done
say "the Pub/Sub emulator answers on $HOST_PORT after $((tries / 5)).$((tries % 5 * 2)) s"
ensure_resources
print_settings
