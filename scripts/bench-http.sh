#!/usr/bin/env bash
# Commands/s through the command service's POST /commands (wrk, keep-alive connections) and,
# side by side on the same fresh log and durability, through the unix socket endpoint
# (`prism send`'s protocol: one connection per command), each client waiting for durability.
#
#   scripts/bench-http.sh [CONNECTIONS=64] [SECONDS=10] [PRISM=.build/release/prism]
#
# Needs wrk (Debian package `wrk`) and a C compiler (the socket client is C, like wrk). Traffic stays on 127.0.0.1; both runs stop by
# themselves after SECONDS.
set -euo pipefail
connections=${1:-64}
seconds=${2:-10}
prism=${3:-.build/release/prism}
command -v wrk >/dev/null || { echo "bench-http: needs wrk (apt-get install wrk)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT

"$prism" serve --data "$dir/log" --rate 0 --http 127.0.0.1:0 2>"$dir/serve.err" &
pid=$!
for _ in $(seq 1 200); do grep -q "listening on" "$dir/serve.err" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/.*command service listening on \(http:[^ ]*\).*/\1/p' "$dir/serve.err")
curl -sf -H 'Content-Type: text/plain' --data-binary 'register MUG 100 Mug' "$url/commands" >/dev/null

cat >"$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "restock MUG 1"
wrk.headers["Content-Type"] = "text/plain"
local non200 = 0
response = function(status) if status ~= 200 then non200 = non200 + 1 end end
done = function() io.write(string.format("non-200 answers: %d\n", non200)) end
LUA
echo "== HTTP: wrk -t2 -c$connections -d${seconds}s POST /commands (restock MUG 1), durable"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$dir/post.lua" "$url/commands"

echo "== unix socket: $connections C threads, one connection per command (prism send's protocol), durable"
cat >"$dir/sock.c" <<'C'
/* N threads, each: connect to the unix socket, send one command, read the one-line answer. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
static const char *path; static double stop_at; static long ok[1024], bad[1024];
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void *client(void *arg) {
    long i = (long)arg; char reply[512];
    struct sockaddr_un a = {0}; a.sun_family = AF_UNIX; strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    while (now() < stop_at) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); bad[i]++; continue; }
        const char *line = "command - 13\nrestock MUG 1"; /* wire version 2: lengths, then bytes */
        if (write(fd, line, strlen(line)) < 0) { close(fd); bad[i]++; continue; }
        ssize_t n, got = 0;
        while ((n = read(fd, reply + got, sizeof reply - 1 - got)) > 0) { got += n; if (reply[got - 1] == '\n') break; }
        close(fd);
        if (got > 8 && strncmp(reply, "accepted", 8) == 0) ok[i]++; else bad[i]++;
    }
    return 0;
}
int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN); /* the endpoint may close a connection it has no room for */
    path = argv[1]; int n = atoi(argv[2]); double seconds = atof(argv[3]);
    pthread_t t[1024]; double start = now(); stop_at = start + seconds;
    for (long i = 0; i < n; i++) pthread_create(&t[i], 0, client, (void *)i);
    long total = 0, rejected = 0;
    for (int i = 0; i < n; i++) { pthread_join(t[i], 0); total += ok[i]; rejected += bad[i]; }
    double took = now() - start;
    printf("%ld accepted in %.2f s: %.0f commands/s (%ld not accepted)\n", total, took, total / took, rejected);
    return 0;
}
C
cc -O2 -pthread -o "$dir/sock" "$dir/sock.c"
"$dir/sock" "$dir/log/prism.sock" "$connections" "$seconds"
echo "== head after both: $(curl -s "$url/health")"
