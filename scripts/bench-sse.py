#!/usr/bin/env python3
"""Event committed -> visible in a query service's view, read through its SSE stream.

    scripts/bench-sse.py [RATE=2000] [SECONDS=10] [PRISM=.build/release/prism]

Starts `prism serve --rate RATE` (the load generator submits RATE commands/s, durable) and a
`prism query` on the same fresh log, reads /views/finance/stream?maxPerSecond=100, and for each
message takes (arrival time - commit time of the event at the message's checkpoint), the commit
time read back from GET /events. Same machine, same wall clock. Prints p50/p99/max in ms.
Traffic stays on 127.0.0.1 and the run stops by itself.
"""
import json, os, re, subprocess, sys, tempfile, time, urllib.request
from datetime import datetime

rate = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
prism = sys.argv[3] if len(sys.argv) > 3 else ".build/release/prism"
tmp = tempfile.mkdtemp()
data = tmp + "/log"

def start(args, kind):
    err = open(tmp + f"/{kind}-{len(os.listdir(tmp))}.err", "w+")
    p = subprocess.Popen([prism] + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    for _ in range(400):
        err.seek(0)
        m = re.search(rf"{kind} service listening on (http://\S+)", err.read())
        if m: return p, m.group(1)
        time.sleep(0.05)
    raise SystemExit(f"{kind} service did not start")

serve, curl = start(["serve", "--data", data, "--rate", str(rate), "--http", "127.0.0.1:0"], "command")
query, qurl = start(["query", "--data", data, "--http", "127.0.0.1:0", "--views", "finance"], "query")
arrivals = []
try:
    time.sleep(1)  # let the load settle
    stream = urllib.request.urlopen(qurl + "/views/finance/stream?maxPerSecond=100", timeout=10)
    end = time.time() + seconds
    checkpoint = None
    for raw in stream:
        now = time.time()
        line = raw.decode()
        if line.startswith("id: "): checkpoint = int(line[4:])
        elif line.startswith("data: ") and checkpoint: arrivals.append((checkpoint, now))
        if now > end: break
    stream.close()
    latencies = []
    for position, arrived in arrivals[1:]:  # the first message is the view as it stood
        with urllib.request.urlopen(f"{curl}/events?from={position}&limit=1", timeout=10) as r:
            event = json.loads(r.readline())
        committed = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
        latencies.append((arrived - committed) * 1000)
    with urllib.request.urlopen(curl + "/health", timeout=10) as r: health = json.loads(r.read())
finally:
    for p in (query, serve):
        p.terminate(); p.wait(timeout=30)
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"load {rate} commands/s for {seconds:.0f} s; {health['accepted']} accepted, head {health['head']}")
print(f"{len(latencies)} SSE messages: commit -> visible p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max {latencies[-1]:.1f} ms")
