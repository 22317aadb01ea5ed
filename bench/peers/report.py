#!/usr/bin/python3
"""report: the bookkeeping of bench/compare.sh (stdlib only).

    report.py row RUN TEST SERVER CPU_S BACKEND_CPU_S PSS0 PSS1 BPSS0 BPSS1
                  < bench.json >> results.csv
        one CSV row from a `tlskit bench --json` document and what the
        script read from /proc around it (CPU seconds of the server's
        processes and of echo_backend over the run; Pss in KiB before and
        while holding idle connections, "-" where not measured)
    report.py header > results.csv
        the CSV's first line
    report.py fail RUN TEST SERVER REASON >> results.csv
        a row for a cell that could not be measured
    report.py table results.csv HEADER_FILE
        the markdown report: medians over runs, spread, ratio to tlskit
"""
import csv
import json
import statistics
import sys

FIELDS = ["run", "test", "server", "status", "reason", "ops", "mb",
          "elapsed_s", "cpu_s", "backend_cpu_s", "p99_us", "resumed",
          "handshakes", "errors", "held", "kib_per_conn",
          "backend_kib_per_conn"]

# test -> (headline title, unit, higher is better)
TESTS = {
    "hs-ecdsa": ("full handshakes, ECDSA P-256", "hs", True),
    "hs-rsa": ("full handshakes, RSA-2048", "hs", True),
    "resume": ("resumed handshakes", "hs", True),
    "tput": ("echoed throughput", "MB", True),
    "rr": ("64 B request/response", "req", True),
    "idle": ("memory per idle connection (PSS)", "KiB", False),
}

TERMINATORS = ("haproxy", "nginx", "hitch", "stunnel")


def write_row(values):
    w = csv.DictWriter(sys.stdout, FIELDS, lineterminator="\n")
    w.writerow(values)


def cmd_row(args):
    run, test, server, cpu, bcpu, pss0, pss1, bpss0, bpss1 = args
    try:
        doc = json.load(sys.stdin)
    except ValueError as err:
        return cmd_fail([run, test, server, f"no JSON from tlskit bench: {err}"])
    lat = doc.get("latency_us") or {}
    errors = (doc.get("errors") or {}).get("total", 0)
    row = {"run": run, "test": test, "server": server, "status": "ok",
           "reason": "", "ops": doc["operations"],
           "mb": round(doc["bytes"] / 1e6, 3),
           "elapsed_s": doc["elapsed_ms"] / 1000.0,
           "cpu_s": cpu, "backend_cpu_s": bcpu if bcpu != "-" else "",
           "p99_us": lat.get("p99", ""), "resumed": doc.get("resumed", 0),
           "handshakes": doc.get("handshakes", 0), "errors": errors}
    if test == "idle":
        idle = doc.get("idle") or {}
        held = idle.get("still_up") or idle.get("opened") or 0
        row["held"] = held
        if held and pss0 != "-" and pss1 != "-":
            row["kib_per_conn"] = round((int(pss1) - int(pss0)) / held, 2)
        if held and bpss0 != "-" and bpss1 != "-":
            row["backend_kib_per_conn"] = round(
                (int(bpss1) - int(bpss0)) / held, 2)
    if doc["operations"] == 0:
        first = ((doc.get("errors") or {}).get("by_cause") or [{}])[0]
        row["status"] = "fail"
        row["reason"] = "no operation succeeded: " + first.get(
            "cause", "unknown cause")
    write_row(row)
    return 0


def cmd_header(args):
    print(",".join(FIELDS))
    return 0


def cmd_fail(args):
    run, test, server, reason = args
    write_row({"run": run, "test": test, "server": server, "status": "fail",
               "reason": reason.replace("\n", " ")[:200]})
    return 0


def fnum(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def headline(test, r):
    """The figure per second of server CPU (server + echo_backend)."""
    if test == "idle":
        return fnum(r["kib_per_conn"])
    cpu = (fnum(r["cpu_s"]) or 0) + (fnum(r["backend_cpu_s"]) or 0)
    amount = fnum(r["mb"]) if test == "tput" else fnum(r["ops"])
    if not cpu or amount is None:
        return None
    return amount / cpu


def raw_rate(test, r):
    el = fnum(r["elapsed_s"])
    amount = fnum(r["mb"]) if test == "tput" else fnum(r["ops"])
    if not el or amount is None:
        return None
    return amount / el


def cpu_share(r, key):
    el, cpu = fnum(r["elapsed_s"]), fnum(r[key])
    return None if not el or cpu is None else 100.0 * cpu / el


def summarize(values):
    """(median, ± half the min-max range as % of the median, n)"""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    med = statistics.median(vals)
    spread = (max(vals) - min(vals)) / 2 / med * 100 if med else 0.0
    return med, spread, len(vals)


def fmt(v, digits=None):
    if v is None:
        return "–"
    if digits is None:
        digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
    return f"{v:,.{digits}f}".replace("-0.0", "0.0")  # no "-0.0" for noise


def fmt_stat(s, digits=None):
    if s is None:
        return "n/a"
    med, spread, n = s
    return f"{fmt(med, digits)} ±{spread:.0f}%" + ("" if n > 1 else " (1 run)")


def ratio(s, base):
    if s is None or base is None or not base[0]:
        return "n/a"
    return f"{s[0] / base[0]:.2f}"


def label(server):
    return server + (" ¹" if server in TERMINATORS else "")


class Cells:
    """Rows grouped by (test, server), in first-seen order."""

    def __init__(self, rows):
        self.rows = rows
        self.tests = [t for t in TESTS if any(r["test"] == t for r in rows)]
        self.servers = []
        for r in rows:
            if r["server"] not in self.servers:
                self.servers.append(r["server"])
        if "tlskit" in self.servers:  # the reference goes first
            self.servers.remove("tlskit")
            self.servers.insert(0, "tlskit")

    def ok(self, test, server):
        return [r for r in self.rows if r["test"] == test and
                r["server"] == server and r["status"] == "ok"]

    def why_not(self, test, server):
        bad = [r["reason"] for r in self.rows if r["test"] == test and
               r["server"] == server and r["status"] != "ok"]
        return bad[0] if bad else "not run"

    def stat(self, test, server, fn):
        return summarize([fn(r) for r in self.ok(test, server)])


def summary_table(c, out):
    out.append("## Summary: ratio to tlskit per second of server CPU "
               "(memory: KiB per idle connection)\n")
    out.append("| server | " + " | ".join(
        f"{t} ({'higher' if TESTS[t][2] else 'lower'} is better)"
        for t in c.tests) + " |")
    out.append("|---" * (len(c.tests) + 1) + "|")
    for s in c.servers:
        cells = []
        for t in c.tests:
            st = c.stat(t, s, lambda r, t=t: headline(t, r))
            base = c.stat(t, "tlskit", lambda r, t=t: headline(t, r))
            cells.append("n/a" if st is None else
                         f"{ratio(st, base)} ({fmt(st[0])})")
        out.append(f"| {label(s)} | " + " | ".join(cells) + " |")
    out.append("")


def test_table(c, t, out):
    title, unit, _ = TESTS[t]
    out.append(f"## {t}: {title}\n")
    base = c.stat(t, "tlskit", lambda r: headline(t, r))
    if t == "idle":
        out.append("| server | KiB/conn, server (PSS) | ratio | "
                   "KiB/conn, echo_backend | connections held | errors |")
        out.append("|---|---|---|---|---|---|")
    else:
        out.append(f"| server | {unit}/s per CPU-s | ratio | {unit}/s raw | "
                   "server CPU % (+ backend) | "
                   f"{unit}/s per CPU-s, server alone | p99 ms | errors |")
        out.append("|---|---|---|---|---|---|---|---|")
    for s in c.servers:
        if not c.ok(t, s):
            out.append(f"| {label(s)} | n/a: {c.why_not(t, s)} |")
            continue
        head = c.stat(t, s, lambda r: headline(t, r))
        errs = sum(int(fnum(r["errors"]) or 0) for r in c.ok(t, s))
        if t == "idle":
            back = c.stat(t, s, lambda r: fnum(r["backend_kib_per_conn"]))
            held = c.stat(t, s, lambda r: fnum(r["held"]))
            out.append(f"| {label(s)} | {fmt_stat(head, 1)} | "
                       f"{ratio(head, base)} | "
                       f"{fmt(back[0], 1) if back else '–'} | "
                       f"{fmt(held[0], 0) if held else '–'} | {errs} |")
            continue
        raw = c.stat(t, s, lambda r: raw_rate(t, r))
        cpu = c.stat(t, s, lambda r: cpu_share(r, "cpu_s"))
        bcpu = c.stat(t, s, lambda r: cpu_share(r, "backend_cpu_s"))
        alone = c.stat(t, s, lambda r: (
            (fnum(r["mb"]) if t == "tput" else fnum(r["ops"])) /
            fnum(r["cpu_s"]) if fnum(r["cpu_s"]) else None))
        p99 = c.stat(t, s, lambda r: fnum(r["p99_us"]))
        cpu_txt = fmt(cpu[0], 0) if cpu else "–"
        if bcpu:
            cpu_txt += f" (+ {fmt(bcpu[0], 0)})"
        extra = ""
        if t == "resume":
            res = c.stat(t, s, lambda r: (fnum(r["resumed"]) or 0) /
                         fnum(r["handshakes"]) if fnum(r["handshakes"])
                         else None)
            extra = f", {res[0]:.0%} resumed" if res else ""
        out.append(f"| {label(s)} | {fmt_stat(head)} | {ratio(head, base)}"
                   f" | {fmt_stat(raw)}{extra} | {cpu_txt} | "
                   f"{fmt(alone[0]) if alone else '–'} | "
                   f"{fmt(p99[0] / 1000, 2) if p99 else '–'} | {errs} |")
    out.append("")


def cmd_table(args):
    path, header = args
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(header) as f:
        out = [f.read()]
    c = Cells(rows)
    summary_table(c, out)
    for t in c.tests:
        test_table(c, t, out)
    out.append("¹ terminator: it decrypts and forwards to echo_backend (C, "
               "epoll, same core), whose CPU is counted in the headline "
               "(shown after the +) and whose memory is listed apart.\n")
    print("\n".join(out))
    return 0


def main(argv):
    cmds = {"header": (cmd_header, 0), "row": (cmd_row, 9), "fail": (cmd_fail, 4), "table": (cmd_table, 2)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        sys.exit(__doc__)
    return cmds[argv[1]][0](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
