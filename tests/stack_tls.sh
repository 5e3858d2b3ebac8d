# tests/stack_tls.sh - the TLS and authentication half of the local stack,
# sourced by tests/stack (it uses DIR, SLOT, TIMEOUT, die, log, pid_alive,
# port_busy, wait_for, es_port, as_pg, pg_dsn from there).
#
# At start it makes a throw-away CA and certificates with openssl under
# $DIR/tls (nothing is committed), random passwords in $DIR/tls/*.pw, and
# runs beside the plain services (which existing tests keep using):
#   - etcd-tls: a second etcd with TLS, --client-cert-auth and auth enabled
#     (user "scour", role with read/write on every key; tokens live 5 s so
#     the renewal path runs; bcrypt cost 4, not 10, so logins stay cheap on
#     a loaded test machine - keep the default in production);
#   - Redis: the same redis-server also listens on a TLS port (client
#     certificates required) and has an ACL user "scour"; a stunnel client
#     on loopback speaks TLS to it with the client certificate (this build's
#     hiredis has no TLS, see docs/security.md);
#   - PostgreSQL: ssl=on with the stack's certificate; role "scour_tls"
#     may log in only over TLS and with its password (scram-sha-256);
#   - nginx: a TLS terminator in front of cluster 1 that checks basic auth
#     or an API key (port ES_TLS_PORT), and the same with an expired
#     certificate (ES_TLS_PORT + 1).

ETCD_TLS_PORT=$((23792 + SLOT * 10))
ETCD_TLS_PEER=$((23793 + SLOT * 10))
REDIS_TLS_PORT=$((26390 + SLOT))
STUNNEL_PORT=$((26400 + SLOT))
ES_TLS_PORT=$((29200 + SLOT * 4))
TLS=$DIR/tls

# ---------------------------------------------------------------- certificates
tls_make() {
    [ -s "$TLS/done" ] && return 0
    command -v openssl >/dev/null || die "openssl not installed (make deps)"
    rm -rf "$TLS"; mkdir -p "$TLS/ca"
    (
        cd "$TLS"
        key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }
        key ca.key
        openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=scour test CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -out ca.pem 2>/dev/null
        key other-ca.key   # a CA that signed nothing of ours: the "wrong CA"
        openssl req -x509 -new -key other-ca.key -sha256 -days 30 -subj "/CN=some other CA" \
            -addext "basicConstraints=critical,CA:TRUE" -out other-ca.pem 2>/dev/null
        cat >ext.cnf <<EOF
[server]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
[client]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
        sign() { # name subject ext
            key "$1.key"
            openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
            openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
                -sha256 -extfile ext.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
        }
        sign server /CN=localhost server
        # no CommonName: etcd's JSON gateway refuses client certificates with one
        sign client /O=scour/OU=client client
        # expired: valid for one day in 2020, signed by our CA
        key expired.key
        openssl req -new -key expired.key -subj "/CN=localhost" -out expired.csr 2>/dev/null
        : >ca/index.txt; echo 1000 >ca/serial
        cat >ca.cnf <<EOF
[ca]
default_ca = sc
[sc]
dir = $TLS/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $TLS/ca.pem
private_key = $TLS/ca.key
default_md = sha256
policy = any
x509_extensions = server_ext
[any]
commonName = supplied
[server_ext]
basicConstraints=CA:FALSE
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EOF
        openssl ca -batch -config ca.cnf -notext -startdate 20200101000000Z \
            -enddate 20200102000000Z -in expired.csr -out expired.pem 2>/dev/null
        pw() { openssl rand -hex 16 >"$1.pw"; }
        pw etcd-root; pw etcd; pw redis; pw pg; pw es; pw es-apikey
        chmod 0600 ./*.key ./*.pw
    ) || die "openssl could not make the test certificates"
    for f in ca.pem server.pem client.pem expired.pem; do [ -s "$TLS/$f" ] || die "no $TLS/$f"; done
    echo ok >"$TLS/done"
}
pw_of() { cat "$TLS/$1.pw"; }

# ---------------------------------------------------------------- etcd with TLS and auth
etcdctl_tls() {
    ETCDCTL_API=3 etcdctl --endpoints "https://127.0.0.1:$ETCD_TLS_PORT" --cacert "$TLS/ca.pem" \
        --cert "$TLS/client.pem" --key "$TLS/client.key" --dial-timeout 3s --command-timeout 5s "$@"
}
etcd_tls_start() {
    pid_alive "$DIR/etcd-tls.pid" && return 0
    port_busy "$ETCD_TLS_PORT" && die "etcd-tls port $ETCD_TLS_PORT is already in use"
    mkdir -p "$DIR/etcd-tls"
    local url="https://127.0.0.1:$ETCD_TLS_PORT" peer="http://127.0.0.1:$ETCD_TLS_PEER"
    ETCD_UNSUPPORTED_ARCH=${ETCD_UNSUPPORTED_ARCH:-} setsid etcd --name scour-tls \
        --data-dir "$DIR/etcd-tls/data" \
        --listen-client-urls "$url" --advertise-client-urls "$url" \
        --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
        --initial-cluster "scour-tls=$peer" --initial-cluster-state new \
        --cert-file "$TLS/server.pem" --key-file "$TLS/server.key" \
        --trusted-ca-file "$TLS/ca.pem" --client-cert-auth \
        --auth-token simple --auth-token-ttl 5 --bcrypt-cost 4 \
        </dev/null >"$DIR/etcd-tls/etcd.log" 2>&1 &
    echo $! >"$DIR/etcd-tls.pid"
}
etcd_tls_ok() { etcdctl_tls endpoint health 2>&1 | grep -q 'is healthy'; }
etcd_tls_auth() { # users, role, auth enable: once per data dir
    [ -f "$DIR/etcd-tls/auth-done" ] && return 0
    {
        etcdctl_tls user add "root:$(pw_of etcd-root)" &&
            etcdctl_tls user grant-role root root &&
            etcdctl_tls role add scour &&
            etcdctl_tls role grant-permission scour --from-key readwrite $'\x00' &&
            etcdctl_tls user add "scour:$(pw_of etcd)" &&
            etcdctl_tls user grant-role scour scour &&
            etcdctl_tls auth enable
    } >"$DIR/etcd-tls/auth.log" 2>&1 || die "etcd-tls: enabling auth failed; log: $DIR/etcd-tls/auth.log"
    touch "$DIR/etcd-tls/auth-done"
}
etcd_tls_stop() {
    if pid_alive "$DIR/etcd-tls.pid"; then kill "$(cat "$DIR/etcd-tls.pid")" 2>/dev/null || true; sleep 0.3; fi
    pid_alive "$DIR/etcd-tls.pid" && kill -9 "$(cat "$DIR/etcd-tls.pid")" 2>/dev/null
    rm -f "$DIR/etcd-tls.pid"
}

# ---------------------------------------------------------------- Redis TLS port, ACL user, stunnel
# redis_start (tests/stack) passes this file first: it survives redis-restart.
redis_tls_conf() {
    cat >"$DIR/redis/tls.conf" <<EOF
tls-port $REDIS_TLS_PORT
tls-cert-file $TLS/server.pem
tls-key-file $TLS/server.key
tls-ca-cert-file $TLS/ca.pem
tls-auth-clients yes
user scour on >$(pw_of redis) ~* &* +@all
EOF
    chmod 0600 "$DIR/redis/tls.conf"
}
stunnel_start() {
    pid_alive "$DIR/stunnel.pid" && return 0
    port_busy "$STUNNEL_PORT" && die "stunnel port $STUNNEL_PORT is already in use"
    mkdir -p "$DIR/stunnel"
    cat >"$DIR/stunnel/stunnel.conf" <<EOF
foreground = yes
pid =
output = $DIR/stunnel/stunnel.log
[redis]
client = yes
accept = 127.0.0.1:$STUNNEL_PORT
connect = 127.0.0.1:$REDIS_TLS_PORT
CAfile = $TLS/ca.pem
verifyChain = yes
checkHost = localhost
cert = $TLS/client.pem
key = $TLS/client.key
EOF
    setsid stunnel "$DIR/stunnel/stunnel.conf" </dev/null >/dev/null 2>&1 &
    echo $! >"$DIR/stunnel.pid"
}
stunnel_ok() { [ "$(redis-cli -h 127.0.0.1 -p "$STUNNEL_PORT" --user scour --pass "$(pw_of redis)" --no-auth-warning ping 2>/dev/null)" = PONG ]; }
stunnel_stop() {
    pid_alive "$DIR/stunnel.pid" && kill "$(cat "$DIR/stunnel.pid")" 2>/dev/null || true
    rm -f "$DIR/stunnel.pid"
}

# ---------------------------------------------------------------- PostgreSQL TLS
# Called after initdb, before the server starts.
pg_tls_conf() {
    local data=$1
    [ -f "$data/scour-tls" ] && return 0
    cp "$TLS/server.pem" "$data/server.crt"; cp "$TLS/server.key" "$data/server.key"
    chmod 0600 "$data/server.key"
    [ "$(id -u)" -eq 0 ] && chown nobody "$data/server.crt" "$data/server.key"
    {
        echo "ssl = on"
        echo "ssl_cert_file = 'server.crt'"
        echo "ssl_key_file = 'server.key'"
    } >>"$data/postgresql.conf"
    { printf 'hostssl all scour_tls 127.0.0.1/32 scram-sha-256\nhost all scour_tls 127.0.0.1/32 reject\n'
      cat "$data/pg_hba.conf"; } >"$data/pg_hba.conf.new"
    mv "$data/pg_hba.conf.new" "$data/pg_hba.conf"
    [ "$(id -u)" -eq 0 ] && chown nobody "$data/pg_hba.conf"
    touch "$data/scour-tls"
}
pg_tls_role() {
    psql "$(pg_dsn postgres)" -qc "do \$\$ begin
        if not exists (select 1 from pg_roles where rolname = 'scour_tls') then
            create role scour_tls login superuser; end if; end \$\$;" >/dev/null &&
        psql "$(pg_dsn postgres)" -qc "alter role scour_tls password '$(pw_of pg)'" >/dev/null ||
        die "postgres: cannot create role scour_tls"
}
pg_tls_dsn() { echo "host=localhost port=$PG_PORT user=scour_tls dbname=scour connect_timeout=5 sslmode=verify-full sslrootcert=$TLS/ca.pem"; }

# ---------------------------------------------------------------- nginx in front of cluster 1
nginx_start() {
    pid_alive "$DIR/nginx.pid" && return 0
    command -v nginx >/dev/null || die "nginx not installed (make deps)"
    port_busy "$ES_TLS_PORT" && die "nginx port $ES_TLS_PORT is already in use"
    local n=$DIR/nginx basic
    mkdir -p "$n/tmp"
    basic=$(printf 'scour:%s' "$(pw_of es)" | base64 -w0)
    local server_block='
        location / {
            if ($sc_auth_ok = 0) {
                add_header WWW-Authenticate "Basic realm=\"scour\"" always;
                return 401 "{\"error\":\"unauthorized by the TLS proxy\",\"status\":401}";
            }
            proxy_pass http://127.0.0.1:'"$(es_port 1)"';
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
            proxy_read_timeout 120s;
        }'
    cat >"$n/nginx.conf" <<EOF
$([ "$(id -u)" -eq 0 ] && echo "user root;")
daemon off;
worker_processes 1;
pid $n/nginx.pid;
error_log $n/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    default_type application/json;
    client_body_temp_path $n/tmp/body;
    proxy_temp_path $n/tmp/proxy;
    fastcgi_temp_path $n/tmp/fastcgi;
    uwsgi_temp_path $n/tmp/uwsgi;
    scgi_temp_path $n/tmp/scgi;
    client_max_body_size 256m;
    client_body_buffer_size 16m;
    map_hash_bucket_size 256;
    map \$http_authorization \$sc_auth_ok {
        default 0;
        "Basic $basic" 1;
        "ApiKey $(pw_of es-apikey)" 1;
    }
    server {
        listen 127.0.0.1:$ES_TLS_PORT ssl;
        ssl_certificate $TLS/server.pem;
        ssl_certificate_key $TLS/server.key;
        $server_block
    }
    server {
        listen 127.0.0.1:$((ES_TLS_PORT + 1)) ssl;
        ssl_certificate $TLS/expired.pem;
        ssl_certificate_key $TLS/expired.key;
        $server_block
    }
}
EOF
    chmod 0600 "$n/nginx.conf"
    setsid nginx -p "$n" -c "$n/nginx.conf" -e "$n/error.log" </dev/null >"$n/stdout.log" 2>&1 &
    echo $! >"$DIR/nginx.pid"
}
nginx_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 --cacert "$TLS/ca.pem" "https://localhost:$ES_TLS_PORT/")" = 401 ]; }
nginx_stop() {
    pid_alive "$DIR/nginx.pid" && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true
    rm -f "$DIR/nginx.pid"
}

# ---------------------------------------------------------------- the whole half
tls_start() { # after the plain services are up
    etcd_tls_start
    stunnel_start
    nginx_start
    wait_for etcd-tls "$DIR/etcd-tls/etcd.log" etcd_tls_ok
    etcd_tls_auth
    wait_for stunnel "$DIR/stunnel/stunnel.log" stunnel_ok
    wait_for nginx "$DIR/nginx/error.log" nginx_ok
    pg_tls_role
}
tls_stop() {
    nginx_stop
    stunnel_stop
    etcd_tls_stop
}
tls_env() {
    cat <<ENV
SC_TLS_DIR=$TLS
SC_ETCD_TLS_URL=https://127.0.0.1:$ETCD_TLS_PORT
SC_REDIS_TLS_PORT=$REDIS_TLS_PORT
SC_REDIS_STUNNEL_PORT=$STUNNEL_PORT
SC_PG_TLS_DSN='$(pg_tls_dsn)'
SC_ES_TLS_URL=https://localhost:$ES_TLS_PORT
SC_ES_TLS_EXPIRED_URL=https://localhost:$((ES_TLS_PORT + 1))
SC_ES_TLS_PLAIN_PORT=$(es_port 1)
ENV
}
