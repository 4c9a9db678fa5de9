# Shared helpers for scripts/demo.sh, scripts/test.sh and bench/*.sh.
# Source it; it defines functions only (and a few variables).

JS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}
PG_CONFIG=$PG_BIN/pg_config

# Debian packages the build, the tests and the benchmarks need.
JS_PACKAGES=(make g++ cmake clang-format "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR"
	libcctz-dev libgtest-dev libbenchmark-dev libipc-run-perl "postgresql-$PG_MAJOR-cron" libpq-dev
	clang-14 libclang-rt-14-dev)

# To build and test the Debian package (test/deb/test.sh); installed with
# --no-install-recommends. The package's Build-Depends (debian/control) are
# these plus libcctz-dev and libpq-dev from JS_PACKAGES.
JS_DEB_PACKAGES=(debhelper postgresql-server-dev-all dpkg-dev fakeroot)

# Only for the Patroni failover tier (scripts/test.sh --ha, test/ha/failover.sh
# --patroni); installed with --no-install-recommends. Debian starts a system
# etcd on 127.0.0.1:2379 where services start; the test runs its own.
JS_HA_PACKAGES=(patroni etcd-server curl)

js_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
js_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
js_as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Runs a command as the owner of the throwaway clusters: postgres when we are
# root (initdb and postgres refuse to run as root), else ourselves. As postgres
# it runs from /: the caller's directory may be one postgres cannot read (a
# checkout under /root), and initdb, pg_ctl and postgres then print 'could not
# change directory to "...": Permission denied'. So arguments must be absolute
# paths (scripts/test.sh checks this from a mode-0700 directory).
js_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Installs the Debian packages that are missing (apt-get update only if needed):
# JS_PACKAGES, or the packages given (extra apt-get options before a "--").
js_install_deps() {
	local missing=() p opts=() pkgs=("${JS_PACKAGES[@]}")
	if [ $# -gt 0 ]; then
		while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
		shift
		pkgs=("$@")
	fi
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	js_log "installing Debian packages: ${missing[*]}"
	js_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	js_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${opts[@]}" "${missing[@]}" >/dev/null
	# Debian creates and starts a default cluster with the server package; we
	# never use it (every script makes its own throwaway cluster).
}

# Builds job_stagger.so and installs it into the PostgreSQL tree.
js_build_install() {
	js_log "building and installing job_stagger"
	make -C "$JS_ROOT" -s -j2 PG_CONFIG="$PG_CONFIG" JS_WERROR=1 >/dev/null
	js_as_root make -C "$JS_ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# Prints a free TCP port on 127.0.0.1.
# Ports come from below the kernel's ephemeral range: a port there may be the
# local end of any outgoing connection (a walreceiver, a psql), which nothing
# listens on but which makes the server's bind() fail ("could not start server").
js_free_port() {
	local port low=32768 _high
	read -r low _high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	[ "$low" -gt 11024 ] || low=32768
	for _ in $(seq 1 200); do
		port=$((10000 + RANDOM % (low - 11000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && ! ss -Htan "sport = :$port" 2>/dev/null | grep -q .; then
			echo "$port"
			return 0
		fi
	done
	js_die "no free port found"
}

# Creates a throwaway cluster in a new temp dir and starts it on 127.0.0.1.
# Sets JS_TMP, JS_PGDATA, JS_PORT; extra postgresql.conf lines come from stdin.
js_cluster_start() {
	JS_TMP=$(mktemp -d /tmp/job_stagger.XXXXXX)
	JS_PGDATA=$JS_TMP/data
	JS_PORT=$(js_free_port)
	[ "$(id -u)" -eq 0 ] && chown postgres: "$JS_TMP"
	js_as_pg "$PG_BIN/initdb" -D "$JS_PGDATA" -U postgres -A trust --no-sync >"$JS_TMP/initdb.log" 2>&1 ||
		{ cat "$JS_TMP/initdb.log" >&2; js_die "initdb failed"; }
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $JS_PORT"
		echo "unix_socket_directories = '$JS_TMP'"
		echo "shared_preload_libraries = 'job_stagger'"
		cat
	} | js_as_pg tee -a "$JS_PGDATA/postgresql.conf" >/dev/null
	js_as_pg "$PG_BIN/pg_ctl" -D "$JS_PGDATA" -l "$JS_TMP/server.log" -w -t 60 start >/dev/null ||
		{ cat "$JS_TMP/server.log" >&2; js_die "server did not start"; }
}

# Stops the throwaway cluster (if any) and removes its directory.
js_cluster_stop() {
	if [ -n "${JS_PGDATA:-}" ] && [ -f "$JS_PGDATA/postmaster.pid" ]; then
		js_as_pg "$PG_BIN/pg_ctl" -D "$JS_PGDATA" -m fast -w stop >/dev/null 2>&1 || true
	fi
	[ -n "${JS_TMP:-}" ] && rm -rf "$JS_TMP"
	JS_TMP= JS_PGDATA=
}

# psql against the throwaway cluster.
js_psql() {
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$JS_PORT" -U postgres "$@"
}
