#!/usr/bin/env python3
"""Normalise a grade output (json, xml, env, txt, csv) so that two runs of the same code compare equal:
timings, timestamps and thread ids (pids) vary run to run; nothing else may."""
import base64, json, re, sys

def text(s):
    s = re.sub(r"\((\d+)\) panicked", "(PID) panicked", s)
    s = re.sub(r"process \d+", "process PID", s)
    s = re.sub(r"-\d+/", "-PID/", s)
    s = re.sub(r"/work/[^/\s\"']+/", "ROOT/", s)
    s = re.sub(r"/tmp/[^/\s\"']+/", "ROOT/", s)
    s = re.sub(r'time="[0-9.]+"', 'time="T"', s)
    s = re.sub(r'timestamp="[^"]+"', 'timestamp="TS"', s)
    s = re.sub(r'"execution_time":\s*"[^"]+"', '"execution_time":"T"', s)
    s = re.sub(r'"seconds":\s*[0-9.e-]+', '"seconds": T', s)
    s = re.sub(r"\b\d+\.\d+ s\b", "T s", s)
    return s

def env(s):
    out = []
    for line in s.splitlines():
        k, _, v = line.partition("=")
        try:
            d = json.loads(base64.b64decode(v, validate=True).decode())
        except Exception:
            out.append(text(line))
            continue
        # Classroom messages are cut at a fixed length, so a pid's digit count moves the cut:
        # compare each message's first line.
        for t in d.get("tests", []):
            m = t.get("message", "").split("\n")[0]
            t["message"] = text(m)[:150]
        out.append(k + "=" + text(json.dumps(d, sort_keys=True)))
    return "\n".join(out)

p = sys.argv[1]
s = open(p, encoding="utf-8", errors="replace").read()
import signal; signal.signal(signal.SIGPIPE, signal.SIG_DFL)
print(env(s) if p.endswith(".env") else text(s))
