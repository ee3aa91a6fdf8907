#!/usr/bin/env python3
"""Submit N runs to a runbox API (POST /api/v1/code/execute?wait=false), then follow every one to
its end (GET /api/v1/code/runs/{id}), the way a client that must not lose work does it: a 503 or
429 (Retry-After) or a refused connection is retried, never counted as a result.

Each run prints its own token ("tok-<i>"), so the result of run i can be told from any other's.
Prints one JSON object: submitted, done, statuses, wrong (runs whose output is not their token),
ids (i -> id), retries (503/429/connection errors met), submit_s, total_s, runs_per_s.

Used by tests/integration/73-cluster.sh and bench/cluster.sh.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def request(base, method, path, body=None, token=None, retries=None, deadline=None):
    """One request, retried on 503/429 and connection errors until @deadline: (status, json)."""
    u = urllib.parse.urlsplit(base)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    while True:
        try:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            conn.close()
            if resp.status in (429, 503):
                retry = float(resp.getheader("Retry-After") or "1")
                if retries is not None:
                    retries[resp.status] = retries.get(resp.status, 0) + 1
                if deadline and time.time() > deadline:
                    return resp.status, None
                time.sleep(min(retry, 1.0))
                continue
            return resp.status, json.loads(raw) if raw else None
        except (OSError, http.client.HTTPException):
            if retries is not None:
                retries["conn"] = retries.get("conn", 0) + 1
            if deadline and time.time() > deadline:
                return 0, None
            time.sleep(0.3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--sleep", default="0", help="seconds each program sleeps before printing")
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    deadline = time.time() + a.timeout
    retries = {}
    ids = {}
    lock = threading.Lock()
    nxt = [0]
    t0 = time.time()

    def submit():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= a.runs:
                return
            code = ("sleep %s\n" % a.sleep if a.sleep != "0" else "") + "echo tok-%d\n" % i
            st, o = request(a.url, "POST", "/api/v1/code/execute?wait=false",
                            {"language": "bash", "code": code, "save_history": False},
                            a.token, retries, deadline)
            if st == 202 and o and "id" in o:
                with lock:
                    ids[i] = o["id"]
            else:
                print("submit %d: HTTP %s %s" % (i, st, o), file=sys.stderr)

    threads = [threading.Thread(target=submit) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submit_s = time.time() - t0

    results = {}
    pending = sorted(ids.items())

    def follow(items):
        for i, rid in items:
            while time.time() < deadline:
                st, o = request(a.url, "GET", "/api/v1/code/runs/%d" % rid, None, a.token,
                                retries, deadline)
                if st == 200 and o and o.get("state") == "done" and o.get("result"):
                    with lock:
                        results[i] = o["result"]
                    break
                time.sleep(0.1)

    chunks = [pending[k::a.concurrency] for k in range(a.concurrency)]
    threads = [threading.Thread(target=follow, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total_s = time.time() - t0
    statuses = {}
    wrong = []
    for i, res in results.items():
        statuses[res.get("status")] = statuses.get(res.get("status"), 0) + 1
        if res.get("status") == "success" and res.get("output") != "tok-%d\n" % i:
            wrong.append(i)
    print(json.dumps({
        "submitted": len(ids), "done": len(results), "statuses": statuses, "wrong": wrong[:20],
        "ids": {str(i): rid for i, rid in ids.items()}, "retries": retries,
        "submit_s": round(submit_s, 3), "total_s": round(total_s, 3),
        "runs_per_s": round(len(results) / total_s, 1) if total_s > 0 else 0,
    }))


if __name__ == "__main__":
    main()
