#!/usr/bin/env bash
# Compares greenlight's router with nginx as reverse proxies to the same backend,
# and with direct access, in one run on this machine (127.0.0.1 only).
# Prints requests/s and p50/p99 latency of each, the ratios router/nginx and
# router/direct, and the router process's RSS under load.
#
#   DURATION=10s CONNECTIONS=64 THREADS=2 ROUNDS=3 bench/router/run.sh
#
# It also prints each proxy's CPU time per request (user + system, all its
# threads or worker processes), which depends far less than requests/s on what
# else the machine runs. BASELINE=/path/to/proxy adds a router harness built from
# another tree (an older commit) to the comparison. HTTPS=0 skips the HTTPS
# round (nginx and the router with the same self-signed ECDSA certificate,
# TLS keep-alive connections, HTTP/1.1).
#
# Every round's router/nginx ratios are printed, then their median and best:
# on a shared machine one round says little.
#
# BACKEND=nginx answers from a second nginx (return 200, the same body size)
# instead of the Go backend, which costs more per request than either proxy:
# with a cheaper backend the proxies' own cost is a larger part of the whole.
# PIN=1 runs both proxies on CPU 0 only (nginx with one worker, the router with
# GOMAXPROCS 1, as Go sets it from its CPU affinity) and wrk and the backend on
# the other CPUs: each proxy gets one core of its own. On 2 cores the load side
# is then as busy as the proxy, so requests/s says little and CPU per request
# is the figure; with more cores the proxy becomes the bottleneck.
set -euo pipefail

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-1s}
BODY_SIZE=${BODY_SIZE:-64}
# Each target is measured ROUNDS times, the targets taking turns, and its best
# round is reported: others' load on a shared machine drifts during a run.
ROUNDS=${ROUNDS:-2}
BASELINE=${BASELINE:-}
HTTPS=${HTTPS:-1}
BACKEND=${BACKEND:-go}
PIN=${PIN:-0}
ROUND=0

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

install_tools() {
	local missing=()
	command -v wrk >/dev/null || missing+=(wrk)
	command -v nginx >/dev/null || missing+=(nginx-light)
	if ((${#missing[@]})); then
		echo "installing ${missing[*]}" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# free_port prints a loopback port nothing answers on.
free_port() {
	local port
	for _ in $(seq 200); do
		port=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	echo "no free port found" >&2
	return 1
}

# start NAME CMD... runs CMD in the background and sets NAME_PID and NAME_ADDR,
# the address CMD prints on its first line of stdout.
start() {
	local name=$1
	shift
	"$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	PIDS+=($!)
	printf -v "${name}_PID" '%s' "$!"
	for _ in $(seq 300); do
		if [[ -s $WORK/$name.out ]]; then
			printf -v "${name}_ADDR" '%s' "$(head -n1 "$WORK/$name.out")"
			return
		fi
		sleep 0.1
	done
	echo "$name did not start:" >&2
	cat "$WORK/$name.err" >&2
	return 1
}

# ON_PROXY_CPU and ON_LOAD_CPUS prefix a command to run it on the CPUs of the
# proxies or of the load (wrk and the backend); empty unless PIN=1. taskset
# execs the command: a process started so keeps the PID $! gives.
ON_PROXY_CPU=()
ON_LOAD_CPUS=()
if [[ $PIN == 1 ]]; then
	ON_PROXY_CPU=(taskset -c 0)
	ON_LOAD_CPUS=(taskset -c "1-$(($(nproc) - 1))")
fi

# to_ms converts wrk's latency ("512.00us", "1.23ms", "1.01s") to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000
		else if (v ~ /ms$/) n = n
		else if (v ~ /m$/) n *= 60000
		else if (v ~ /s$/) n *= 1000
		printf "%.3f", n
	}'
}

# cpu_ticks PID... prints the CPU time (clock ticks, user + system) the processes
# have used so far.
cpu_ticks() {
	local pid total=0 ticks
	for pid in "$@"; do
		ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
		total=$((total + ticks))
	done
	echo "$total"
}

# bench NAME URL [PID...] runs wrk once and keeps NAME_RPS, NAME_P50, NAME_P99
# (ms) and NAME_CPU (µs of the PIDs' CPU time per request) of the round with the
# most requests/s.
bench() {
	local name=$1 url=$2 out rps p50 p99 best requests before after cpu=n/a
	shift 2
	"${ON_LOAD_CPUS[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
	before=$(cpu_ticks "$@")
	out=$("${ON_LOAD_CPUS[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
	after=$(cpu_ticks "$@")
	echo "$out" >>"$WORK/$name.wrk"
	if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
		echo "$name: errors during the run:" >&2
		grep 'Non-2xx\|Socket errors' <<<"$out" >&2
	fi
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
	p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
	requests=$(awk '/requests in/ {print $1}' <<<"$out")
	if (($# > 0)) && ((requests > 0)); then
		cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
	fi
	echo "  $name round: $rps requests/s, p50 $p50 ms, p99 $p99 ms, proxy CPU $cpu µs/request" >&2
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$ROUND" "$rps" "$p50" "$p99" "$cpu" >>"$WORK/rounds.tsv"
	best=${name}_RPS
	if [[ -z ${!best:-} ]] || awk -v a="$rps" -v b="${!best}" 'BEGIN { exit !(a > b) }'; then
		printf -v "${name}_RPS" '%s' "$rps"
		printf -v "${name}_P50" '%s' "$p50"
		printf -v "${name}_P99" '%s' "$p99"
		printf -v "${name}_CPU" '%s' "$cpu"
	fi
}

# sample_rss PID FILE writes the largest VmRSS (kB) seen until killed.
sample_rss() {
	local pid=$1 file=$2 max=0 rss
	while kill -0 "$pid" 2>/dev/null; do
		rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
		((rss > max)) && max=$rss && echo "$max" >"$file"
		sleep 0.2
	done
}

# proxy_location is nginx's reverse proxy block, the same for HTTP and HTTPS.
# nginx sends the backend the request the router sends: the client's Host
# field as it came, and the same X-Forwarded fields (For, Host, Port, Proto),
# so that both proxies, and the backend behind them, do the same work.
# NGINX_LEAN=1 sends Host without the port and leaves X-Forwarded-Host and
# -Port out, as the runs recorded before 2026-12-06 did.
proxy_location() {
	local host='$http_host' extra='proxy_set_header X-Forwarded-Host $http_host; proxy_set_header X-Forwarded-Port $server_port;'
	if [[ ${NGINX_LEAN:-0} == 1 ]]; then
		host='$host' extra=""
	fi
	cat <<EOF
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto \$scheme;
			$extra
		}
EOF
}

write_nginx_conf() {
	local listen=$1 upstream=$2 tls_listen=$3
	local workers=auto
	[[ $PIN == 1 ]] && workers=1
	cat >"$WORK/nginx.conf" <<EOF
worker_processes $workers;
$(nginx_common "$WORK/nginx")
	upstream backend {
		server $upstream;
		keepalive 256;
		keepalive_requests 1000000000;
	}
	server {
		listen $listen;
$(proxy_location)
	}
	server {
		listen $tls_listen ssl;
		ssl_certificate $WORK/cert.pem;
		ssl_certificate_key $WORK/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_session_cache shared:SSL:10m;
$(proxy_location)
	}
}
EOF
}

# nginx_common is the start of an nginx configuration rooted at DIR, up to
# the http block's servers. Connections are kept for as long as the router
# keeps them (nginx closes them after 1000 requests by default).
nginx_common() {
	local dir=$1
	mkdir -p "$dir/logs"
	cat <<EOF
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000000;
	client_body_temp_path $dir/client_body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
EOF
}

# start_nginx_backend starts nginx answering every request with BODY_SIZE
# bytes (BACKEND=nginx) on the load CPUs, and sets backend_ADDR and
# backend_PID.
start_nginx_backend() {
	local addr body
	addr="127.0.0.1:$(free_port)"
	body=$(head -c "$BODY_SIZE" /dev/zero | tr '\0' a)
	cat >"$WORK/nginx-backend.conf" <<EOF
worker_processes auto;
$(nginx_common "$WORK/nginx-backend")
	server {
		listen $addr;
		location / { default_type text/plain; return 200 "$body"; }
	}
}
EOF
	"${ON_LOAD_CPUS[@]}" nginx -p "$WORK/nginx-backend" -c "$WORK/nginx-backend.conf" -g 'daemon off;' 2>"$WORK/nginx-backend.err" &
	backend_PID=$!
	PIDS+=("$backend_PID")
	backend_ADDR=$addr
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://$addr/" 2>/dev/null && return
		sleep 0.1
	done
	echo "nginx backend did not start:" >&2
	cat "$WORK/nginx-backend.err" >&2
	return 1
}

# make_cert writes a self-signed ECDSA P-256 certificate both proxies serve.
make_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.test \
		-addext subjectAltName=DNS:bench.test -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
}

# round_ratios prints, per round, router/nginx throughput and CPU per request
# (HTTP, and HTTPS when measured), then the median and the best of each.
round_ratios() {
	awk -F'\t' '
		{ rps[$1, $2] = $3; cpu[$1, $2] = $6; if ($2 > n) n = $2 }
		function med(a, k,   i, j, t) {
			for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
		}
		function report(label, r, n, better,   i, k, v, s, best) {
			k = 0; s = ""
			for (i = 1; i <= n; i++) if ((i in r) && r[i] != "") { k++; v[k] = r[i]; s = s sprintf(" %.2f", r[i]) }
			if (k == 0) return
			best = v[1]; for (i = 2; i <= k; i++) if ((better == "max" && v[i] > best) || (better == "min" && v[i] < best)) best = v[i]
			printf "%-32s rounds:%s  median %.2f  best %.2f\n", label, s, med(v, k), best
		}
		END {
			for (i = 1; i <= n; i++) {
				if (rps["NGINX", i] > 0) t[i] = rps["ROUTER", i] / rps["NGINX", i]
				if (cpu["NGINX", i] > 0 && cpu["ROUTER", i] != "n/a") c[i] = cpu["ROUTER", i] / cpu["NGINX", i]
				if (rps["NGINX_TLS", i] > 0) ts[i] = rps["ROUTER_TLS", i] / rps["NGINX_TLS", i]
				if (cpu["NGINX_TLS", i] > 0 && cpu["ROUTER_TLS", i] != "n/a") tc[i] = cpu["ROUTER_TLS", i] / cpu["NGINX_TLS", i]
				if (rps["BASELINE", i] > 0) b[i] = rps["ROUTER", i] / rps["BASELINE", i]
				if (cpu["BASELINE", i] > 0 && cpu["ROUTER", i] != "n/a") bc[i] = cpu["ROUTER", i] / cpu["BASELINE", i]
			}
			report("HTTP  router/nginx requests/s", t, n, "max")
			report("HTTP  router/nginx CPU/request", c, n, "min")
			report("HTTPS router/nginx requests/s", ts, n, "max")
			report("HTTPS router/nginx CPU/request", tc, n, "min")
			report("HTTP  router/baseline requests/s", b, n, "max")
			report("HTTP  router/baseline CPU/request", bc, n, "min")
		}' "$WORK/rounds.tsv"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

main() {
	install_tools
	echo "building backend and router harness" >&2
	(cd "$ROOT" && go build -o "$WORK/backend" ./bench/router/backend && go build -o "$WORK/proxy" ./bench/router/proxy)

	local backend nginx_addr nginx_tls router
	make_cert
	if [[ $BACKEND == nginx ]]; then
		start_nginx_backend
	else
		start backend "${ON_LOAD_CPUS[@]}" "$WORK/backend" -size "$BODY_SIZE"
	fi
	backend=$backend_ADDR
	nginx_addr="127.0.0.1:$(free_port)"
	nginx_tls="127.0.0.1:$(free_port)"
	write_nginx_conf "$nginx_addr" "$backend" "$nginx_tls"
	"${ON_PROXY_CPU[@]}" nginx -p "$WORK/nginx" -c "$WORK/nginx.conf" -g 'daemon off;' 2>"$WORK/nginx.err" &
	local nginx_pid=$!
	PIDS+=("$nginx_pid")
	start router "${ON_PROXY_CPU[@]}" "$WORK/proxy" -target "$backend"
	router=$router_ADDR
	if [[ $HTTPS == 1 ]]; then
		start router_tls "${ON_PROXY_CPU[@]}" "$WORK/proxy" -target "$backend" -cert "$WORK/cert.pem" -key "$WORK/key.pem"
	fi
	if [[ -n $BASELINE ]]; then
		start baseline "${ON_PROXY_CPU[@]}" "$BASELINE" -target "$backend"
	fi
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://$nginx_addr/" 2>/dev/null && break
		sleep 0.1
	done
	local nginx_pids
	nginx_pids=("$nginx_pid" $(pgrep -P "$nginx_pid"))

	echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION (after ${WARMUP} warm-up), ${BODY_SIZE}-byte body, best of $ROUNDS rounds; $(nproc) cores; backend $BACKEND; pinned $PIN; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	sample_rss "$router_PID" "$WORK/rss" &
	local sampler=$!
	for _ in $(seq "$ROUNDS"); do
		ROUND=$((ROUND + 1))
		bench DIRECT "http://$backend/"
		bench NGINX "http://$nginx_addr/" "${nginx_pids[@]}"
		bench ROUTER "http://$router/" "$router_PID"
		if [[ -n $BASELINE ]]; then
			bench BASELINE "http://$baseline_ADDR/" "$baseline_PID"
		fi
		if [[ $HTTPS == 1 ]]; then
			bench NGINX_TLS "https://$nginx_tls/" "${nginx_pids[@]}"
			bench ROUTER_TLS "https://$router_tls_ADDR/" "$router_tls_PID"
		fi
	done
	kill "$sampler" 2>/dev/null || true
	local rss_kb
	rss_kb=$(cat "$WORK/rss" 2>/dev/null || echo 0)

	printf '%-8s %12s %10s %10s %14s\n' target 'requests/s' 'p50 ms' 'p99 ms' 'CPU µs/req'
	printf '%-8s %12.0f %10.3f %10.3f %14s\n' direct "$DIRECT_RPS" "$DIRECT_P50" "$DIRECT_P99" -
	printf '%-8s %12.0f %10.3f %10.3f %14s\n' nginx "$NGINX_RPS" "$NGINX_P50" "$NGINX_P99" "$NGINX_CPU"
	printf '%-8s %12.0f %10.3f %10.3f %14s\n' router "$ROUTER_RPS" "$ROUTER_P50" "$ROUTER_P99" "$ROUTER_CPU"
	if [[ -n $BASELINE ]]; then
		printf '%-8s %12.0f %10.3f %10.3f %14s\n' baseline "$BASELINE_RPS" "$BASELINE_P50" "$BASELINE_P99" "$BASELINE_CPU"
	fi
	echo "router/nginx:  throughput $(ratio "$ROUTER_RPS" "$NGINX_RPS")  p50 $(ratio "$ROUTER_P50" "$NGINX_P50")  p99 $(ratio "$ROUTER_P99" "$NGINX_P99")"
	echo "router/direct: throughput $(ratio "$ROUTER_RPS" "$DIRECT_RPS")  p50 $(ratio "$ROUTER_P50" "$DIRECT_P50")  p99 $(ratio "$ROUTER_P99" "$DIRECT_P99")"
	echo "router/nginx:  CPU per request $(ratio "$ROUTER_CPU" "$NGINX_CPU")"
	if [[ $HTTPS == 1 ]]; then
		printf '%-8s %12.0f %10.3f %10.3f %14s\n' nginx-tls "$NGINX_TLS_RPS" "$NGINX_TLS_P50" "$NGINX_TLS_P99" "$NGINX_TLS_CPU"
		printf '%-8s %12.0f %10.3f %10.3f %14s\n' rtr-tls "$ROUTER_TLS_RPS" "$ROUTER_TLS_P50" "$ROUTER_TLS_P99" "$ROUTER_TLS_CPU"
		echo "HTTPS router/nginx (best rounds): throughput $(ratio "$ROUTER_TLS_RPS" "$NGINX_TLS_RPS")  p99 $(ratio "$ROUTER_TLS_P99" "$NGINX_TLS_P99")  CPU per request $(ratio "$ROUTER_TLS_CPU" "$NGINX_TLS_CPU")"
	fi
	round_ratios
	echo "router RSS at load: $((rss_kb / 1024)) MB (VmRSS peak ${rss_kb} kB)"
}

main "$@"
