#!/usr/bin/env python3
"""Builds the seed corpora in fuzz/corpus/<target>/ from the test fixtures.

Run from the repository root: `python3 fuzz/make-seeds.py` (then `scripts/fuzz --cmin`
to minimise). The seeds are committed, so neither CI nor `scripts/fuzz` needs this
script; it records where the seeds came from and rebuilds them when fixtures change.

Every seed is small (a few KB at most): libFuzzer mutates small inputs faster, and the
committed corpus stays a few hundred KB.
"""

import hashlib
import json
import random
import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
REAL = sorted((ROOT / "tests" / "data" / "real").glob("*/export.txt"))
CLOUDFLARED = sorted((ROOT / "tests" / "data" / "cloudflared").glob("*.txt"))
SEED8 = struct.pack("<Q", 0x9E3779B97F4A7C15)  # chunking seed, bit 0 set: unit filter on
SEED8_NOFILTER = struct.pack("<Q", 0x9E3779B97F4A7C14)

rng = random.Random(8)


def records(path):
    """Export records as lists of (name, value bytes), binary fields included."""
    data = path.read_bytes()
    pos, rec, out = 0, [], []
    while pos < len(data):
        if data[pos] == 0x0A:
            if rec:
                out.append(rec)
            rec = []
            pos += 1
            continue
        end = data.index(b"\n", pos)
        line = data[pos:end]
        if b"=" in line:
            name, value = line.split(b"=", 1)
            rec.append((name.decode(), value))
            pos = end + 1
        else:
            (n,) = struct.unpack("<Q", data[end + 1 : end + 9])
            rec.append((line.decode(), data[end + 9 : end + 9 + n]))
            pos = end + 9 + n + 1
    if rec:
        out.append(rec)
    return out


def export(recs):
    out = bytearray()
    for rec in recs:
        for name, value in rec:
            printable = b"\n" not in value and all(b >= 0x20 or b == 9 for b in value)
            try:
                value.decode()
            except UnicodeDecodeError:
                printable = False
            if printable:
                out += name.encode() + b"=" + value + b"\n"
            else:
                out += name.encode() + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
        out += b"\n"
    return bytes(out)


def to_json(recs):
    lines = []
    for rec in recs:
        obj = {}
        for name, value in rec:
            try:
                text = value.decode()
                obj[name] = text if all(c >= " " or c == "\t" for c in text) else list(value)
            except UnicodeDecodeError:
                obj[name] = list(value)
        lines.append(json.dumps(obj, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def shape(b):
    """Lines that differ only in digits and hex are the same shape."""
    return re.sub(rb"[0-9a-f]{4,}", b"h", re.sub(rb"[0-9]+", b"0", b))[:80]


def write(target, seeds):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():
        old.unlink()
    for s in seeds:
        (d / hashlib.sha1(s).hexdigest()).write_bytes(s)
    print(f"{target}: {len(seeds)} seeds, {sum(map(len, seeds))} bytes")


all_recs = {p.parent.name: records(p) for p in REAL}
field = lambda rec, k: next((v for n, v in rec if n == k), None)

# sigil_line: one MESSAGE of each shape the server wrote, plus native-field entries.
seen, sigil = set(), []
for recs in all_recs.values():
    for r in recs:
        if field(r, "_SYSTEMD_UNIT") == b"sigil-mcp.service":
            m = field(r, "MESSAGE") or b""
            if shape(m) not in seen and len(m) < 4096:
                seen.add(shape(m))
                sigil.append(m)
for log in (ROOT / "tests/data/real/sigil-prod-startup").glob("*.log"):
    for line in log.read_bytes().splitlines():
        if shape(line) not in seen:
            seen.add(shape(line))
            sigil.append(line)
rid = b"7c9e6679-7425-40de-944b-e07fc1f90ae7"
sigil += [
    b"\x03Incoming MCP HTTP request\0" + rid + b"\0\0\0POST\0/\x008f3a6c1d2b4e5f70-DFW",
    b"\x03Outgoing MCP HTTP response\0" + rid + b"\0502\x001234.5\0POST\0/\0\0{\"isError\": true}",
    b"\x03Error handling MCP request\0" + rid + b"\0\x0099999999999999999999\0GET\0/mcp?token=x",
]
write("sigil_line", sigil)

# cloudflared_line: runs of consecutive lines from every capture (pattern byte first).
cf = []
for path in CLOUDFLARED:
    lines = path.read_bytes().splitlines()
    seen = set()
    for i in range(0, len(lines), 8):
        run = lines[i : i + 8]
        key = b"".join(shape(l)[:40] for l in run)
        if key in seen:
            continue
        seen.add(key)
        chunk = b"\n".join(run)
        if len(chunk) < 3000:
            cf.append(bytes([rng.randrange(256)]) + chunk)
# A torn JSON record: head and tail on two lines of the same process.
rec = b'{"level":"error","connIndex":0,"error":"Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused","time":"2026-11-25T17:05:18Z","message":"Request failed"}'
cf.append(b"\x00" + rec[:90] + b"\n" + rec[90:])
write("cloudflared_line", cf)


def groups(recs, size, count):
    out = []
    for _ in range(count):
        i = rng.randrange(max(1, len(recs) - size))
        out.append(recs[i : i + size])
    return out


# export_decoder / json_decoder: a few records each, from each capture.
exp, js = [], []
for recs in all_recs.values():
    for g in groups(recs, 2, 8) + [recs[:3]]:
        e = export(g)
        if len(e) < 8000:
            exp.append(SEED8_NOFILTER + e)
            js.append(SEED8 + to_json(g)[1:])  # the target adds the leading '{'
bin_rec = [[("__REALTIME_TIMESTAMP", b"1795626317811775"), ("_SYSTEMD_UNIT", b"sigil-mcp.service"),
            ("MESSAGE", b"two\nlines \xff\x00 \x1b[31m"), ("_PID", b"7")]]
exp.append(SEED8 + export(bin_rec))
js.append(SEED8 + to_json(bin_rec)[1:])
write("export_decoder", exp)
write("json_decoder", js)

# since_parser: 8 bytes of now, 4 of offset, then the text.
now = struct.pack("<Q", 1795626316) + struct.pack("<i", 3600)
forms = ["2026-11-24 10:00:00", "2026-11-24 10:00", "2026-11-24", "10:00", "10:00:30.5",
         "today", "yesterday", "tomorrow", "now", "-1h", "-30min", "+5m", "10 min ago",
         "-1h30min", "@1795626316", "@1795626316.25", "2026-11-24T10:00:00+01:00",
         "2026-11-24 10:00 UTC", "2026-03-29 02:30", "1970-01-01 00:00:00 UTC", "-2w 3d"]
write("since_parser", [now + f.encode() for f in forms])

# config_parser: the default file and a few edge values.
default = re.search(r'DEFAULT_TOML: &str = r#"(.*?)"#;', (ROOT / "src/config_file.rs").read_text(), re.S).group(1)
write("config_parser", [default.encode(), b"[limits]\nlog_events = 0\ntraces = 0\npending_requests = 0\npending_ttl = 0\n",
                        b'[latency]\nwindow = "0ms"\np99_threshold = "1.5s"\nwindows_to_open = 0\n',
                        b'[edge]\ntimeout = 18446744073709551615\n[units]\norigin = "x;rm -rf /"\n'])

# pipeline: longer runs of records (a request and its answer on both units).
pipe = []
for recs in all_recs.values():
    for g in groups(recs, 6, 6):
        e = export(g)
        if len(e) < 8000:
            pipe.append(SEED8 + e)
    g = groups(recs, 6, 1)[0]
    pipe.append(SEED8 + to_json(g))

# Hostile inputs (issue 17): every secret shape of tests/data/hostile/secrets.tsv as its
# program logs it, and control/invisible characters and Markdown in ids, versions, paths,
# hosts and units (also as JSON escapes that decode to ESC).
HOSTILE = ROOT / "tests" / "data" / "hostile" / "secrets.tsv"
secret_rows = [l.split("\t", 3) for l in HOSTILE.read_text().splitlines() if l and not l.startswith("#")]
EVIL = "\x1b]0;pwned\x07\u009b31m\u2028\u2029\U000e0041\u00ad\u061c\u2067\u202e\u3164\u200b\ufeff"
MARKUP = "<img src=x onerror=alert(1)>[click me](https://evil.example/x)`code`*b*_i_www.evil.example|"


def hostile_rec(i, unit, comm, message, host="mcp-host"):
    return [("__REALTIME_TIMESTAMP", str(1795626316000000 + i * 1000).encode()),
            ("_BOOT_ID", b"1eeaddfde42c4edeef3bb0adcf8d6ed7"), ("_HOSTNAME", host.encode()),
            ("_SYSTEMD_UNIT", unit.encode()), ("_COMM", comm.encode()), ("_PID", b"7"),
            ("PRIORITY", b"6"), ("MESSAGE", message.encode())]


def program_rec(i, program, message, host="mcp-host"):
    if program == "cloudflared":
        return hostile_rec(i, "cloudflared.service", "cloudflared", message, host)
    return hostile_rec(i, "sigil-mcp.service", "python", message, host)


hostile = [program_rec(i, r[0], r[3]) for i, r in enumerate(secret_rows)]
for k in range(0, len(hostile), 10):
    pipe.append(SEED8 + export(hostile[k:k + 10]))
rid = f"11111111-2222-3333-4444-5555|{EVIL}|"
ray = f"8f3a6c1d2b4e5f70|{EVIL}-DFW"
evil_recs = [
    program_rec(0, "cloudflared", '{"level":"info","time":"2026-11-25T17:05:17Z","message":"Version 2026.8.2\\u001b]52;c;cm0=\\u0007\\u202e"}'),
    program_rec(1, "sigil", f"2026-11-25 17:05:17 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id={rid} method=GET path=/x{MARKUP} client_ip=203.0.113.9 cf_ray={ray} headers={{'host': 'x'}}"),
    program_rec(2, "sigil", f"2026-11-25 17:05:17 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id={rid} status_code=502 duration_ms=3 path=/x{MARKUP} method=GET"),
    program_rec(3, "cloudflared", f'2026-11-25T17:05:18Z ERR  error="Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused{EVIL}" cfRay={ray} connIndex=0 event=1 ingressRule=0 originService=http://localhost:8000'),
    hostile_rec(4, f"sigil-mcp{EVIL}.service", f"py{EVIL}", f"evil host, unit and identifier {EVIL}", host=f"host{EVIL}"),
    hostile_rec(5, "init.scope", "systemd", "sigil-mcp.service: Main process exited, code=killed, status=9/KILL") + [("UNIT", b"sigil-mcp.service")],
]
pipe.append(SEED8 + export(evil_recs))
pipe.append(SEED8_NOFILTER + export(evil_recs))
write("pipeline", pipe)

# redactor: the secret table's lines, evidence that must survive, hostile text.
write("redactor", [r[3].encode() for r in secret_rows] + [
    b"sigil-mcp.service: Main process exited, code=killed, status=9/KILL",
    b'{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params"}}',
    b"Bad Request: No valid session ID provided",
    b'msg="{\\"password\\":\\"a\\\\\\"b\\",\\"x\\":1}"',
    b"https://user:pa:ss@host/x?token=a&code=b#frag",
    (EVIL + MARKUP).encode(),
])
