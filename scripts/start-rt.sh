#!/bin/sh
# Start a throwaway Request Tracker 5 for the helpdesk tests and print how to reach it.
# Idempotent: reuses an RT already answering on the port, and the database under RT_TEST_DIR.
# Usage: eval "$(scripts/start-rt.sh | sed 's/^/export /')"
# Prints exactly RT_URL=..., RT_USER=..., RT_PASSWORD=... on stdout; progress goes to stderr.
#
# The instance: SQLite database, REST 2.0 on 127.0.0.1, a privileged user for the connector with
# the rights it needs on the queues General and Billing (in the queue Sealed it may only look, for
# the rights check), the ticket custom field Gmail-Connector-Key and the transaction custom field
# Gmail-Connector-Message-Key. RT never sends mail: $MailCommand is 'sendmailpipe' to a script
# that only writes each message it is handed to $RT_TEST_DIR/outbox/ (see docs/request-tracker.md).
set -eu

DIR="${RT_TEST_DIR:-/tmp/gmail-connector-rt}"
PORT="${RT_TEST_PORT:-5480}"
URL="http://127.0.0.1:$PORT"
RT_USER_NAME="gmail-connector"
RT_USER_PASSWORD="connector-test-password"
RT_HOME=/usr/share/request-tracker5
SERVER="$RT_HOME/libexec/rt-server"
SETUP=/usr/sbin/rt-setup-database-5

say() { echo "start-rt: $*" >&2; }

print_settings() {
    echo "RT_URL=$URL"
    echo "RT_USER=$RT_USER_NAME"
    echo "RT_PASSWORD=$RT_USER_PASSWORD"
}

answers() {   # REST 2.0 accepts the connector's credentials
    [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' -u "$RT_USER_NAME:$RT_USER_PASSWORD" \
        "$URL/REST/2.0/rt" 2>/dev/null)" = "200" ]
}

# The setup's version: a database made by an older version of this script is made again.
SETUP_VERSION=2
if [ -f "$DIR/initialised" ] && [ "$(cat "$DIR/initialised")" != "$SETUP_VERSION" ]; then
    say "the RT in $DIR was set up by an older version of this script: setting it up again"
    if [ -f "$DIR/rt-server.pid" ]; then
        kill -- "-$(cat "$DIR/rt-server.pid")" 2>/dev/null || true
        tries=0
        while answers && [ "$tries" -lt 50 ]; do sleep 0.2; tries=$((tries + 1)); done
    fi
    rm -f "$DIR/initialised"
fi

if answers; then
    say "Request Tracker already answers on $URL"
    print_settings
    exit 0
fi

if [ ! -x "$SERVER" ] || [ ! -x "$SETUP" ] || ! dpkg -s rt5-db-sqlite >/dev/null 2>&1 ||
   ! command -v curl >/dev/null 2>&1; then
    say "installing Request Tracker 5 with apt-get (about 20 s to 1.5 min)"
    PKGS="request-tracker5 rt5-db-sqlite rt5-standalone curl"
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PKGS >&2; then
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PKGS >&2
    fi
fi

mkdir -p "$DIR/site.d" "$DIR/outbox"
RT_SITE_CONFIG="$DIR/RT_SiteConfig.pm"
RT_SITE_CONFIG_DIR="$DIR/site.d"   # empty: the Debian files under /etc/request-tracker5 stay out
export RT_SITE_CONFIG RT_SITE_CONFIG_DIR

# RT hands every outgoing mail to this command on stdin; it keeps a copy and sends nothing.
cat >"$DIR/capture-mail" <<EOF
#!/bin/sh
# RT's \$SendmailPath for the test instance: stores the message RT would send, with its arguments.
out="$DIR/outbox/\$(date +%s).\$\$"
{ printf 'X-Capture-Args: %s\n' "\$*"; cat; } >"\$out.tmp" && mv "\$out.tmp" "\$out.eml"
EOF
chmod 755 "$DIR/capture-mail"

cat >"$RT_SITE_CONFIG" <<EOF
# Throwaway RT for the gmail-connector tests (written by scripts/start-rt.sh).
Set(\$rtname, 'gmail-connector-test');
Set(\$Organization, 'gmail-connector.test');
Set(\$Timezone, 'UTC');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$DIR/rt.db');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $PORT);
Set(\$WebPath, '');
Set(\$WebBaseURL, '$URL');
Set(\$CorrespondAddress, 'support@example.com');
Set(\$CommentAddress, 'support-comment@example.com');
Set(\$RTAddressRegexp, qr/^support(-comment)?\@example\.com\$/i);
Set(\$MailCommand, 'sendmailpipe');
Set(\$SendmailPath, '$DIR/capture-mail');
Set(\$SendmailArguments, '-oi -t');
Set(\$LogToSyslog, undef);
Set(\$LogToFile, undef);
Set(\$LogToSTDERR, 'info');
1;
EOF

# The connector's user, queues, custom fields and rights (RT's initialdata format).
cat >"$DIR/gmail-connector.initialdata" <<EOF
my @rights = qw(SeeQueue CreateTicket ShowTicket ModifyTicket ReplyToTicket CommentOnTicket
                ShowTicketComments);
@Users = ({ Name => '$RT_USER_NAME', Password => '$RT_USER_PASSWORD', Privileged => 1,
            RealName => 'Gmail connector', EmailAddress => 'gmail-connector@example.com' });
@Queues = ({ Name => 'Billing', Description => 'Billing questions' },
           { Name => 'Sealed', Description => 'A queue the connector may not use (rights check)' });
@CustomFields = (
    { Name => 'Gmail-Connector-Key', Type => 'FreeformSingle', LookupType => 'RT::Queue-RT::Ticket',
      Description => 'The Gmail connector idempotency key of the ticket', ApplyTo => 0 },
    { Name => 'Gmail-Connector-Message-Key', Type => 'FreeformSingle',
      LookupType => 'RT::Queue-RT::Ticket-RT::Transaction',
      Description => 'The Gmail connector idempotency key of a message', ApplyTo => 0 },
);
@ACL = (
    (map { my \$q = \$_; map { +{ UserId => '$RT_USER_NAME', Queue => \$q, Right => \$_ } } @rights }
        'General', 'Billing'),
    (map { my \$cf = \$_; map { +{ UserId => '$RT_USER_NAME', CF => \$cf, Right => \$_ } }
        qw(SeeCustomField ModifyCustomField) } 'Gmail-Connector-Key', 'Gmail-Connector-Message-Key'),
    # Sealed: the connector sees it but may not create tickets in it (for the rights check).
    { UserId => '$RT_USER_NAME', Queue => 'Sealed', Right => 'SeeQueue' },
    # Test convenience: the connector may create its own auth tokens (Settings > Auth Tokens).
    { UserId => '$RT_USER_NAME', Right => 'ManageAuthTokens' },
);
# As docs/request-tracker.md tells operators: RT must not mail customers (the connector answers
# them through Gmail). The tests check that RT's captured mail never goes to a customer.
@Final = (sub {
    for my \$description ('On Create Autoreply To Requestors', 'On Create Notify Ccs',
                         'On Create Notify Other Recipients', 'On Correspond Notify Requestors and Ccs',
                         'On Correspond Notify Other Recipients', 'On Resolve Notify Requestors') {
        my \$scrip = RT::Scrip->new(RT->SystemUser);
        \$scrip->LoadByCols(Description => \$description);
        my (\$ok, \$msg) = \$scrip->id ? \$scrip->SetDisabled(1) : (0, 'not found');
        RT->Logger->error("scrip '\$description': \$msg") unless \$ok;
    }
});
1;
EOF

if [ ! -f "$DIR/initialised" ]; then
    say "initialising a new RT database in $DIR/rt.db"
    rm -f "$DIR/rt.db"
    if ! "$SETUP" --action init --skip-create >"$DIR/setup.log" 2>&1 ||
       ! "$SETUP" --action insert --datafile "$DIR/gmail-connector.initialdata" >>"$DIR/setup.log" 2>&1; then
        cat "$DIR/setup.log" >&2
        say "error: rt-setup-database failed (log: $DIR/setup.log)"
        exit 1
    fi
    if grep -q '\[error\]' "$DIR/setup.log"; then
        grep '\[error\]' "$DIR/setup.log" >&2
        say "error: the connector's RT setup reported errors (log: $DIR/setup.log)"
        exit 1
    fi
    echo "$SETUP_VERSION" >"$DIR/initialised"
fi

PIDFILE="$DIR/rt-server.pid"
running() {   # the server of the pid file is alive (and is an rt-server, not a reused pid)
    [ -f "$PIDFILE" ] && grep -q rt-server "/proc/$(cat "$PIDFILE")/cmdline" 2>/dev/null
}
started=0
start_server() {
    say "starting RT on $URL (log: $DIR/rt-server.log)"
    # setsid and no inherited descriptors: the server outlives this script and $(...) returns.
    setsid "$SERVER" --host 127.0.0.1 --port "$PORT" </dev/null >"$DIR/rt-server.log" 2>&1 &
    echo $! >"$PIDFILE"
    started=1
}
if running; then
    say "RT server $(cat "$PIDFILE") is running but not answering yet; waiting for it"
else
    start_server
fi

waited=0
until answers; do
    if ! running; then
        if [ "$started" = 0 ]; then   # it was stopping, not starting
            start_server
        else
            tail -n 30 "$DIR/rt-server.log" >&2
            say "error: the RT server exited before answering (log: $DIR/rt-server.log)"
            exit 1
        fi
    fi
    if [ "$waited" -ge 60 ]; then
        tail -n 30 "$DIR/rt-server.log" >&2
        say "error: RT REST 2.0 did not answer on $URL within 60 s (log: $DIR/rt-server.log)"
        exit 1
    fi
    sleep 1
    waited=$((waited + 1))
done
say "Request Tracker answers on $URL after ${waited} s"
print_settings
