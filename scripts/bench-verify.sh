#!/usr/bin/env bash
# The time `--verify` adds per finding, against a local mock provider (so it measures
# leakhound, not the internet): N distinct GitHub tokens (valid checksums, never issued) in
# one file, scanned without and with --verify, the mock answering every token live after a
# chosen delay. docs/verify.md has the figures.
#   [RATE=requests/s per provider, default 1000] scripts/bench-verify.sh [N=200] [MOCK_DELAY_MS=0] [LEAKHOUND_BIN]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-200}
delay=${2:-0}
bin=${3:-$here/target/release/leakhound}
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release)"; exit 2; }
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/mock.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT

python3 - "$n" >"$tmp/tokens.env" <<'EOF'
import random, sys, zlib
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
rng = random.Random(15)
for i in range(int(sys.argv[1])):
    body = "".join(rng.choice(B62) for _ in range(30))
    c, check = zlib.crc32(body.encode()), ""
    for _ in range(6):
        check = B62[c % 62] + check
        c //= 62
    print(f"TOKEN_{i}=ghp_{body}{check}")
EOF

python3 - "$delay" "$tmp/port" <<'EOF' &
import http.server, socketserver, sys, time
delay = int(sys.argv[1]) / 1000
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        time.sleep(delay)
        body = b'{"login":"bench"}'
        # One write: headers and body in separate segments would meet delayed ACKs (40 ms).
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"X-OAuth-Scopes: read:user\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        self.wfile.flush()
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops SYNs from 8 workers: 1 s retransmits
s = S(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
echo $! >"$tmp/mock.pid"
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
cat >"$tmp/user.toml" <<EOF
[verify]
allow_private_addresses = true
rate = ${RATE:-1000}
[verify.endpoints]
github = "http://127.0.0.1:$port"
EOF

run() { # run LABEL ARGS...
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" scan "$tmp/tokens.env" --no-repo-config --format json -q "$@" >"$tmp/out.json" || [ $? -eq 1 ]
  t1=$(date +%s.%N)
  python3 -c "import json,sys; d=json.load(open('$tmp/out.json')); v=d['summary'].get('verified',{}); print(f'$label {float(sys.argv[2])-float(sys.argv[1]):.3f} s, {len(d[\"findings\"])} findings, live {v.get(\"live\",\"-\")}')" "$t0" "$t1"
}
echo "$n tokens, mock delay ${delay} ms"
for i in 1 2 3; do
  run "no --verify         " --config "$tmp/user.toml"
  run "--verify            " --config "$tmp/user.toml" --verify
done
