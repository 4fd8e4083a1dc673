#!/usr/bin/env python3
"""Compute revalign metrics with DuckDB SQL, independently of the Rust code.

Serves as (a) a correctness cross-check for `revalign` in tests and (b) the
benchmark peer. Needs only Python 3.11+ (tomllib) and the `duckdb` package.

Usage:
    python3 benches/check_duckdb.py --metrics examples/acme/metrics.toml \\
        --leads examples/acme/data/leads.csv --deals examples/acme/data/deals.csv \\
        --plan PLAN.json [--threads 2]

PLAN.json is a JSON array of {"metric": id, "start": instant, "end": instant};
instants are ISO-8601 with an offset ("2026-10-01T00:00:00-04:00" or "...Z"),
each window is half-open [start, end). Output on stdout: a JSON array in plan
order of {"metric", "start", "end", "value", "hits", "total"} (start and end
echoed verbatim; value a float or null; hits and total ints or null).
With --stages LEADS_TOML --drift-start I --drift-end I, also lead-definition
conformance (definition drift), and the output becomes {"metrics": [...],
"drift": [{"stage", "judged", "drifted", "left_funnel"}]} for each stage with
`entry` criteria: a lead sits in its furthest stage (the last, in the file's
`[[stage]]` order, with a non-empty S_at); those whose stage entry falls in
[start, end) count: left_funnel when recycle_reason or disqualify_reason is
non-empty (columns present), else judged, and drifted when the entry
predicate is false. No cutoff applies (records as exported).
Bad input (unknown metric id, missing file, malformed plan, metric referencing
a missing column, ...) exits with status 2 and a message on stderr.

How it works: each needed CSV is read once (as VARCHAR, no type sniffing) into
an in-memory DuckDB table holding only the columns the plan's metrics use, the
timestamp columns parsed to TIMESTAMPTZ (session TimeZone UTC). All windows go into one table; each metric
is one query: the per-record part (filter, hit flag, sample) is computed once
in a CTE, then range-joined to that metric's windows and aggregated.

Semantics (missing value = NULL or empty string):
  Events: `created` -> created_at, `first_touch` -> first_touch_at, any other
  name S -> S_at (a stage entry time).
  Predicates (`filter`, `condition`): {all=[..]}, {any=[..]}, {not=..}, or
  {field=col, <op>=value} with op one of eq ne in not_in gt gte lt lte exists.
    eq/in: false when missing; ne/not_in: their negation (true when missing).
    eq string: exact string equality; eq number: numeric equality of the
    column cast to DOUBLE; eq boolean: column read as a boolean (true/yes/1,
    false/no/0, case-insensitive). gt/gte/lt/lte: numeric, false when missing
    or unparseable. exists=true: non-empty; exists=false: empty.
  stage_count (leads): leads passing filter with S_at in the window.
    value = total = count, hits = null.
  conversion (leads): cohort = leads passing filter with from_at in window;
    hit = to_at not null and to - from <= within (negative counts).
    value = 100*hits/total, null when total = 0.
  duration (leads): leads passing filter, `from` event in window, `to` event
    not null; sample = max(to - from, 0) in seconds (ms precision);
    value = quantile_cont(sample, percentile/100) (default 50), null if none;
    total = samples, hits = null.
  share (leads): cohort = leads passing filter with S_at in window; hit =
    condition (if given) and, if `to` is given, start (= `from` event, else
    S_at) and `to` not null and to - start <= within (negative counts; no
    `within` = no limit). value = 100*hits/total, null when total = 0.
  sum (deals): deals passing filter and condition whose date is in window;
    date = created_at (date="created", default) or, for CLOSED deals
    (closed_at and won non-empty), closed_at (date="closed").
    value = sum of DOUBLE(field) (0.0 when none), total = deals, hits = null
    (a deal with an empty field counts in total and adds nothing).
  win_rate (deals): CLOSED deals passing filter with closed_at in window;
    hits = won (true) deals, total = count, value = 100*hits/total or null.
  `within`: "7d", "24h", "1h 30m", "1.5h" ... units s, m, h, d (86400 s),
  w (7 d), also ms and long names (sec, min, hour(s), day(s), week(s)).
"""

import argparse
import csv
import json
import math
import os
import re
import sys
import tomllib
from datetime import datetime, timezone

import duckdb

LEAD_KINDS = {"stage_count", "conversion", "duration", "share"}
DEAL_KINDS = {"sum", "win_rate"}
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")
UNIT_MS = {
    "ms": 1, "s": 1000, "sec": 1000, "secs": 1000, "second": 1000, "seconds": 1000,
    "m": 60_000, "min": 60_000, "mins": 60_000, "minute": 60_000, "minutes": 60_000,
    "h": 3_600_000, "hr": 3_600_000, "hrs": 3_600_000, "hour": 3_600_000,
    "hours": 3_600_000, "d": 86_400_000, "day": 86_400_000, "days": 86_400_000,
    "w": 604_800_000, "wk": 604_800_000, "week": 604_800_000, "weeks": 604_800_000,
}


class InputError(Exception):
    pass


def qi(name):
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def ql(value):
    """Quote an SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def parse_within(text, where):
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: `within` must be a duration string like \"7d\"")
    parts = re.findall(r"([0-9][0-9.]*)\s*([a-zA-Z]+)", text)
    rest = re.sub(r"([0-9][0-9.]*)\s*([a-zA-Z]+)", "", text).replace(",", "").strip()
    if not parts or rest:
        raise InputError(f"{where}: bad duration {text!r}")
    total = 0.0
    for num, unit in parts:
        if unit.lower() not in UNIT_MS:
            raise InputError(f"{where}: unknown duration unit {unit!r} in {text!r}")
        try:
            total += float(num) * UNIT_MS[unit.lower()]
        except ValueError:
            raise InputError(f"{where}: bad number {num!r} in {text!r}") from None
    return total


def parse_instant(text, where):
    if not isinstance(text, str):
        raise InputError(f"{where}: instant must be a string")
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{where}: not an ISO-8601 instant: {text!r}") from None
    if dt.tzinfo is None:
        raise InputError(f"{where}: instant has no UTC offset: {text!r}")
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class Table:
    """A CSV loaded once into DuckDB: raw VARCHAR columns plus parsed timestamps."""

    def __init__(self, name, path, label):
        self.name, self.path, self.label = name, path, label
        if not path:
            raise InputError(f"the plan needs {label} metrics but no --{label} file was given")
        if not os.path.isfile(path):
            raise InputError(f"{label} file not found: {path}")
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), None)
        if not header:
            raise InputError(f"{label} file {path} is empty")
        if len(set(header)) != len(header):
            raise InputError(f"{label} file {path} has repeated column names")
        self.columns = header
        self.ts = {}  # column -> typed column name
        self.used = set()  # raw columns the queries read

    def col(self, name, where):
        if name not in self.columns:
            raise InputError(f"{where}: {self.label} have no column {name!r}")
        self.used.add(name)
        return qi(name)

    def ts_col(self, name, where):
        if name not in self.columns:
            raise InputError(f"{where}: {self.label} have no column {name!r}")
        return self.ts.setdefault(name, qi("__ts_" + name))

    def load(self, con):
        # Only the columns the queries use are materialised (projection pushdown).
        cols = "{" + ", ".join(f"{ql(c)}: 'VARCHAR'" for c in self.columns) + "}"
        select = [qi(c) for c in self.columns if c in self.used] + [
            f"CAST(NULLIF({qi(c)}, '') AS TIMESTAMPTZ) AS {t}" for c, t in self.ts.items()
        ]
        con.execute(
            f"CREATE TABLE {self.name} AS SELECT {', '.join(select) or '1 AS one'} "
            f"FROM read_csv({ql(self.path)}, "
            f"header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            f"columns = {cols})"
        )


def missing(c):
    return f"({c} IS NULL OR {c} = '')"


def is_bool(c, value):
    words = TRUE_WORDS if value else FALSE_WORDS
    return f"coalesce(lower(trim({c})) IN ({', '.join(map(ql, words))}), false)"


def eq_sql(c, value, where):
    if isinstance(value, bool):
        return is_bool(c, value)
    if isinstance(value, (int, float)):
        return f"coalesce(TRY_CAST({c} AS DOUBLE) = {float(value)!r}, false)"
    if isinstance(value, str):
        return f"(NOT {missing(c)} AND {c} = {ql(value)})"
    raise InputError(f"{where}: unsupported comparison value {value!r}")


def num_operand(value, where):
    if isinstance(value, bool):
        raise InputError(f"{where}: cannot order-compare with a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: gt/gte/lt/lte need a number, got {value!r}") from None


def pred_sql(p, table, where):
    """SQL boolean expression (never NULL) for a predicate table."""
    if not isinstance(p, dict):
        raise InputError(f"{where}: predicate must be a table")
    shapes = [k for k in ("all", "any", "not", "field") if k in p]
    if len(shapes) != 1:
        raise InputError(f"{where}: predicate needs exactly one of all/any/not/field: {p!r}")
    shape = shapes[0]
    if shape in ("all", "any"):
        if len(p) != 1 or not isinstance(p[shape], list):
            raise InputError(f"{where}: `{shape}` must be the only key and a list")
        subs = [pred_sql(q, table, where) for q in p[shape]]
        if not subs:
            return "true" if shape == "all" else "false"
        return "(" + (" AND " if shape == "all" else " OR ").join(subs) + ")"
    if shape == "not":
        if len(p) != 1:
            raise InputError(f"{where}: `not` must be the only key")
        return f"(NOT {pred_sql(p['not'], table, where)})"
    ops = [k for k in p if k != "field"]
    if len(ops) != 1:
        raise InputError(f"{where}: comparison needs exactly one operator: {p!r}")
    op, value = ops[0], p[ops[0]]
    c = table.col(p["field"], where)
    if op == "eq":
        return eq_sql(c, value, where)
    if op == "ne":
        return f"(NOT {eq_sql(c, value, where)})"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise InputError(f"{where}: `{op}` needs a non-empty list")
        s = "(" + " OR ".join(eq_sql(c, v, where) for v in value) + ")"
        return s if op == "in" else f"(NOT {s})"
    if op in ("gt", "gte", "lt", "lte"):
        sym = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return f"coalesce(TRY_CAST({c} AS DOUBLE) {sym} {num_operand(value, where)!r}, false)"
    if op == "exists":
        if not isinstance(value, bool):
            raise InputError(f"{where}: `exists` must be true or false")
        return f"(NOT {missing(c)})" if value else missing(c)
    raise InputError(f"{where}: unknown operator {op!r}")


def event_col(name, table, where):
    if not isinstance(name, str) or not name:
        raise InputError(f"{where}: event/stage name missing")
    column = {"created": "created_at", "first_touch": "first_touch_at"}.get(name, name + "_at")
    return table.ts_col(column, where)


def diff_ms(to, start):
    return f"(epoch_ms({to}) - epoch_ms({start}))"


def require(m, keys, where):
    for k in keys:
        if k not in m:
            raise InputError(f"{where}: kind {m['kind']!r} needs `{k}`")


def metric_query(m, leads, deals):
    """(CTE selecting t [, hit] [, x], aggregate list) for one metric."""
    mid, kind = m["id"], m.get("kind")
    where = f"metric {mid!r}"
    if kind not in LEAD_KINDS | DEAL_KINDS:
        raise InputError(f"{where}: unknown kind {kind!r}")
    table = leads if kind in LEAD_KINDS else deals
    flt = pred_sql(m["filter"], table, where) if "filter" in m else "true"
    if kind == "stage_count":
        require(m, ["stage"], where)
        t = event_col(m["stage"], leads, where)
        return f"SELECT {t} AS t FROM leads WHERE {t} IS NOT NULL AND {flt}", "NULL::BIGINT, NULL::DOUBLE"
    if kind == "conversion":
        require(m, ["from", "to", "within"], where)
        f, to = event_col(m["from"], leads, where), event_col(m["to"], leads, where)
        w = parse_within(m["within"], where)
        hit = f"coalesce({to} IS NOT NULL AND {diff_ms(to, f)} <= {w!r}, false)"
        return (f"SELECT {f} AS t, {hit} AS hit FROM leads WHERE {f} IS NOT NULL AND {flt}",
                "count_if(hit), NULL::DOUBLE")
    if kind == "duration":
        require(m, ["from", "to"], where)
        f, to = event_col(m["from"], leads, where), event_col(m["to"], leads, where)
        pct = m.get("percentile", 50)
        if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not 0 < pct < 100:
            raise InputError(f"{where}: percentile must be a number in 1..99")
        x = f"greatest({diff_ms(to, f)}, 0) / 1000.0"
        return (f"SELECT {f} AS t, {x} AS x FROM leads "
                f"WHERE {f} IS NOT NULL AND {to} IS NOT NULL AND {flt}",
                f"NULL::BIGINT, quantile_cont(x, {pct / 100!r})")
    if kind == "share":
        require(m, ["stage"], where)
        st = event_col(m["stage"], leads, where)
        parts = []
        if "condition" in m:
            parts.append(pred_sql(m["condition"], leads, where))
        if "to" in m:
            start = event_col(m["from"], leads, where) if "from" in m else st
            to = event_col(m["to"], leads, where)
            reach = f"{start} IS NOT NULL AND {to} IS NOT NULL"
            if "within" in m:
                reach += f" AND {diff_ms(to, start)} <= {parse_within(m['within'], where)!r}"
            parts.append(f"coalesce({reach}, false)")
        hit = " AND ".join(parts) if parts else "true"
        return (f"SELECT {st} AS t, {hit} AS hit FROM leads WHERE {st} IS NOT NULL AND {flt}",
                "count_if(hit), NULL::DOUBLE")
    # Deal kinds from here on. CLOSED: closed_at and won both non-empty.
    closed = (f"(NOT {missing(deals.col('closed_at', where))} "
              f"AND NOT {missing(deals.col('won', where))})")
    if kind == "sum":
        require(m, ["field"], where)
        x = deals.col(m["field"], where)
        cond = pred_sql(m["condition"], deals, where) if "condition" in m else "true"
        date = m.get("date", "created")
        if date == "created":
            t, extra = deals.ts_col("created_at", where), "true"
        elif date == "closed":
            t, extra = deals.ts_col("closed_at", where), closed
        else:
            raise InputError(f"{where}: `date` must be \"created\" or \"closed\"")
        return (f"SELECT {t} AS t, CAST(NULLIF({x}, '') AS DOUBLE) AS x FROM deals "
                f"WHERE {t} IS NOT NULL AND {extra} AND {flt} AND {cond}",
                "NULL::BIGINT, sum(x)")
    if kind == "win_rate":
        t = deals.ts_col("closed_at", where)
        return (f"SELECT {t} AS t, {is_bool(qi('won'), True)} AS hit FROM deals "
                f"WHERE {t} IS NOT NULL AND {closed} AND {flt}",
                "count_if(hit), NULL::DOUBLE")
    raise AssertionError(kind)


def finish(kind, hits, total, agg):
    """(value, hits, total) of one window from its aggregates."""
    if kind == "stage_count":
        return float(total), None, total
    if kind in ("conversion", "share", "win_rate"):
        return (100.0 * hits / total if total else None), hits, total
    if kind == "duration":
        return (None if agg is None or not total else float(agg)), None, total
    if kind == "sum":
        return (float(agg) if agg is not None else 0.0), None, total
    raise AssertionError(kind)


def drift_query(stages, leads, start, end):
    """One query: per stage with entry criteria, (judged, drifted, left_funnel)."""
    order = [s["id"] for s in stages]
    cur = "CASE " + " ".join(
        f"WHEN {event_col(sid, leads, 'drift')} IS NOT NULL THEN {ql(sid)}"
        for sid in reversed(order)) + " END"
    cur_at = "CASE " + " ".join(
        f"WHEN {event_col(sid, leads, 'drift')} IS NOT NULL THEN {event_col(sid, leads, 'drift')}"
        for sid in reversed(order)) + " END"
    gone = [f"(NOT {missing(leads.col(c, 'drift'))})"
            for c in ("recycle_reason", "disqualify_reason") if c in leads.columns]
    left = " OR ".join(gone) or "false"
    parts = []
    for st in stages:
        if "entry" not in st:
            continue
        ok = pred_sql(st["entry"], leads, f"stage {st['id']} entry")
        parts.append(
            f"SELECT {ql(st['id'])} AS stage, "
            f"count(*) FILTER (WHERE NOT gone) AS judged, "
            f"count(*) FILTER (WHERE NOT gone AND NOT {ok}) AS drifted, "
            f"count(*) FILTER (WHERE gone) AS left_funnel "
            f"FROM (SELECT *, {cur} AS cur, {cur_at} AS cur_at, ({left}) AS gone FROM leads) "
            f"WHERE cur = {ql(st['id'])} AND cur_at >= {ql(start)}::TIMESTAMPTZ "
            f"AND cur_at < {ql(end)}::TIMESTAMPTZ")
    return " UNION ALL ".join(parts)


def load_json(path):
    if not os.path.isfile(path):
        raise InputError(f"plan file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise InputError(f"plan {path} is not valid JSON: {e}") from None


def run(args):
    if not os.path.isfile(args.metrics):
        raise InputError(f"metrics file not found: {args.metrics}")
    try:
        with open(args.metrics, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"metrics {args.metrics} is not valid TOML: {e}") from None
    metrics = {}
    for m in doc.get("metric", []):
        if not isinstance(m, dict) or "id" not in m or "kind" not in m:
            raise InputError(f"metrics {args.metrics}: every [[metric]] needs id and kind")
        metrics[m["id"]] = m

    plan = load_json(args.plan)
    if not isinstance(plan, list):
        raise InputError("plan must be a JSON array")
    windows = []  # (plan index, metric id, start utc, end utc)
    for i, e in enumerate(plan):
        if not isinstance(e, dict) or not {"metric", "start", "end"} <= e.keys():
            raise InputError(f"plan entry {i}: needs metric, start and end")
        if e["metric"] not in metrics:
            raise InputError(f"plan entry {i}: unknown metric id {e['metric']!r}")
        windows.append((i, e["metric"], parse_instant(e["start"], f"plan entry {i} start"),
                        parse_instant(e["end"], f"plan entry {i} end")))

    used = list(dict.fromkeys(w[1] for w in windows))
    kinds = {metrics[m]["kind"] for m in used}
    leads = Table("leads", args.leads, "leads") if kinds & LEAD_KINDS else None
    deals = Table("deals", args.deals, "deals") if kinds & DEAL_KINDS else None
    queries = {mid: metric_query(metrics[mid], leads, deals) for mid in used}
    drift_sql = None
    if args.stages:
        if not (args.drift_start and args.drift_end):
            raise InputError("--stages needs --drift-start and --drift-end")
        with open(args.stages, "rb") as f:
            stages = tomllib.load(f).get("stage", [])
        if leads is None:
            leads = Table("leads", args.leads, "leads")
        drift_sql = drift_query(stages, leads, parse_instant(args.drift_start, "--drift-start"),
                                parse_instant(args.drift_end, "--drift-end"))

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    for t in (leads, deals):
        if t:
            t.load(con)
    con.execute(
        "CREATE TABLE win AS SELECT unnest($1::INTEGER[]) AS i, unnest($2::VARCHAR[]) AS m, "
        "unnest($3::VARCHAR[])::TIMESTAMPTZ AS s, unnest($4::VARCHAR[])::TIMESTAMPTZ AS e",
        [[w[0] for w in windows], [w[1] for w in windows],
         [w[2] for w in windows], [w[3] for w in windows]],
    )

    results = {}
    for mid, (cte, aggs) in queries.items():
        rows = con.execute(
            f"WITH c AS ({cte}), w AS (SELECT i, s, e FROM win WHERE m = $1) "
            f"SELECT w.i, {aggs}, count(*) FROM w JOIN c ON c.t >= w.s AND c.t < w.e "
            f"GROUP BY w.i",
            [mid],
        ).fetchall()
        for i, hits, agg, total in rows:
            results[i] = (hits, agg, total)

    out = []
    for i, mid, _, _ in windows:
        hits, agg, total = results.get(i, (0, None, 0))
        value, hits, total = finish(metrics[mid]["kind"], hits or 0, total, agg)
        if value is not None and not math.isfinite(value):
            raise InputError(f"plan entry {i}: metric {mid!r} is not finite ({value})")
        out.append({"metric": mid, "start": plan[i]["start"], "end": plan[i]["end"],
                    "value": value, "hits": hits, "total": total})
    if drift_sql:
        rank = {st["id"]: i for i, st in enumerate(stages)}
        drift = sorted(({"stage": r[0], "judged": r[1], "drifted": r[2], "left_funnel": r[3]}
                        for r in con.execute(drift_sql).fetchall()),
                       key=lambda d: rank[d["stage"]])
        return {"metrics": out, "drift": drift}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--metrics", required=True, help="metrics.toml")
    ap.add_argument("--leads", help="leads CSV (needed for lead metrics)")
    ap.add_argument("--deals", help="deals CSV (needed for deal metrics)")
    ap.add_argument("--plan", required=True, help="JSON array of {metric, start, end}")
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    ap.add_argument("--stages", help="leads.toml: also compute definition drift")
    ap.add_argument("--drift-start", help="drift span start (instant)")
    ap.add_argument("--drift-end", help="drift span end (instant, exclusive)")
    args = ap.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        ap.error("--threads must be at least 1")
    try:
        out = run(args)
    except InputError as e:
        print(f"check_duckdb: error: {e}", file=sys.stderr)
        return 2
    except duckdb.Error as e:
        print(f"check_duckdb: error: DuckDB failed (bad data?): {e}", file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
