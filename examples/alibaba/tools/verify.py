#!/usr/bin/env python3
"""Independent sanity check of the Alibaba example model (standard library only).

Usage: python3 examples/alibaba/tools/verify.py [MODEL_DIR]

It replays timeline.toml on its own (a small re-implementation, not holdco) and checks that
  * every unit a fact names is created in the timeline and alive when the fact says so
    (a reported fact's period overlaps the unit's life; a restated fact's unit exists on
    the structure date and during the period);
  * no (unit, period, metric, counterparty, basis, structure) key appears twice;
  * split shares lie in 0..1 and sum to 1 for every metric;
  * the root's published totals reconcile with its top-level lines (gaps are listed);
  * the recorded split shares are the least-squares fit of the published figures: replaying
    the older structure's figures through the changes should give the figures published in
    the newer structure (FY2025 for the 2025 splits, FY2020-FY2021 for the 2021 splits),
    with one residual per unit, period and metric published in the newer structure.
Exit status 1 when a hard check fails; reconcile gaps are reported but not fatal.
"""

import csv
import datetime as dt
import glob
import os
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(HERE)
errors = []


def err(message):
    errors.append(message)
    print("ERROR:", message)


def as_date(value):
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# ---------------------------------------------------------------- group and metrics
group_file = tomllib.load(open(os.path.join(MODEL, "group.toml"), "rb"))
ROOT = group_file["group"]["id"]
FYE_MONTH, FYE_DAY = map(int, group_file["group"]["fiscal_year_end"].split("-"))
METRICS = {m["id"]: m for m in group_file["metric"]}
ADDITIVE = [m for m, d in METRICS.items() if d["aggregation"] != "ratio"]
assert (FYE_MONTH, FYE_DAY) == (3, 31), "period parsing below assumes a 31 March year end"


def period_bounds(label):
    """First and last day of FY2025 / FY2025Q2 (fiscal year ending 31 March)."""
    fy = int(label[2:6])
    if "Q" not in label:
        return dt.date(fy - 1, 4, 1), dt.date(fy, 3, 31)
    q = int(label[7:])
    start_month = 4 + 3 * (q - 1)
    year = fy - 1 if start_month <= 12 else fy
    start_month = (start_month - 1) % 12 + 1
    start = dt.date(year, start_month, 1)
    end_month = start_month + 2
    nxt = dt.date(year + (end_month // 12), end_month % 12 + 1, 1)
    return start, nxt - dt.timedelta(days=1)


# ---------------------------------------------------------------- timeline replay
changes = tomllib.load(open(os.path.join(MODEL, "timeline.toml"), "rb"))["change"]
for c in changes:
    c["date"] = as_date(c["date"])
order = sorted(range(len(changes)), key=lambda i: (changes[i]["date"], i))
changes = [changes[i] for i in order]

units = {}  # id -> dict(created, ended, parents=[(date, parent)])


def alive(u, day):
    rec = units.get(u)
    return rec is not None and rec["created"] <= day and (rec["ended"] is None or day < rec["ended"])


def parent_on(u, day):
    p = None
    for d, par in units[u]["parents"]:
        if d <= day:
            p = par
    return p


def live_children(u, day):
    return [c for c in units if alive(c, day) and parent_on(c, day) == u]


ids = set()
for c in changes:
    day, kind = c["date"], c["kind"]
    where = f"change {c.get('id', '?')} ({day})"
    if "id" in c:
        if c["id"] in ids:
            err(f"{where}: duplicate change id")
        ids.add(c["id"])
    named = []
    if kind in ("create", "acquire"):
        if c["unit"] in units:
            err(f"{where}: unit {c['unit']} exists already")
        if "parent" in c and not alive(c["parent"], day):
            err(f"{where}: parent {c['parent']} not alive")
        units[c["unit"]] = dict(created=day, ended=None, parents=[(day, c.get("parent"))])
        continue
    if kind in ("rename", "move", "split", "stake", "divest", "close"):
        named.append(c["unit"])
    if kind == "move":
        named.append(c["parent"])
    if kind == "merge":
        named += c["units"] + [c["into"]]
    if kind == "split":
        named += [p["unit"] for p in c["parts"]]
    for u in named:
        if not alive(u, day):
            err(f"{where}: unit {u} does not exist on {day}")
    if kind == "move":
        units[c["unit"]]["parents"].append((day, c["parent"]))
    elif kind == "merge":
        for u in c["units"]:
            for child in live_children(u, day):
                units[child]["parents"].append((day, c["into"]))
            units[u]["ended"] = day
    elif kind == "split":
        survives = any(p["unit"] == c["unit"] for p in c["parts"])
        for m in ADDITIVE:
            shares = [p.get("shares", {}).get(m, p.get("share")) for p in c["parts"]]
            if any(s is None or not 0 <= s <= 1 for s in shares):
                err(f"{where}: a share for {m} is missing or outside 0..1")
            elif abs(sum(shares) - 1) > 1e-9:
                err(f"{where}: shares for {m} sum to {sum(shares)}")
        if not survives:
            if live_children(c["unit"], day):
                err(f"{where}: {c['unit']} still has children")
            units[c["unit"]]["ended"] = day
    elif kind in ("divest", "close"):
        stack = [c["unit"]]
        while stack:
            u = stack.pop()
            stack += live_children(u, day)
            units[u]["ended"] = day


def tree_on(day):
    """children map of the structure in force on `day`."""
    kids = {}
    for u in units:
        if alive(u, day):
            p = parent_on(u, day)
            if p is not None:
                kids.setdefault(p, []).append(u)
    return kids


# ---------------------------------------------------------------- facts
COLUMNS = "unit,period,metric,value,currency,counterparty,basis,structure,source".split(",")
facts = []
seen = {}
for path in sorted(glob.glob(os.path.join(MODEL, "facts", "*.csv"))):
    with open(path, encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            err(f"{path}: header {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            where = f"{os.path.basename(path)}:{line}"
            basis = row["basis"] or "reported"
            structure = row["structure"]
            key = (row["unit"], row["period"], row["metric"], row["counterparty"], basis, structure)
            if key in seen:
                err(f"{where}: duplicate key {key} (first at {seen[key]})")
            seen[key] = where
            if row["metric"] not in METRICS or METRICS[row["metric"]]["aggregation"] == "ratio":
                err(f"{where}: metric {row['metric']} is not an additive metric of group.toml")
            if not row["source"].startswith("http"):
                err(f"{where}: no source URL")
            float(row["value"])
            first, last = period_bounds(row["period"])
            u = row["unit"]
            if u not in units:
                err(f"{where}: unit {u} is not created in the timeline")
                continue
            rec = units[u]
            if rec["created"] > last or (rec["ended"] is not None and rec["ended"] <= first):
                err(f"{where}: {row['period']} lies outside the life of {u}")
            if basis == "restated":
                if not structure:
                    err(f"{where}: restated without structure")
                elif not alive(u, dt.date.fromisoformat(structure)):
                    err(f"{where}: {u} does not exist on {structure}")
                # the structure date must be a date some change happened
                elif dt.date.fromisoformat(structure) not in {c["date"] for c in changes}:
                    err(f"{where}: structure {structure} is not the date of any change")
            elif structure:
                err(f"{where}: structure given for a {basis} figure")
            facts.append(dict(row, basis=basis, value=float(row["value"]), where=where))
print(f"{len(units)} units, {len(changes)} changes, {len(facts)} facts")


def fact_sets():
    sets = {}
    for f in facts:
        sets.setdefault((f["period"], f["metric"], f["basis"], f["structure"]), {})[f["unit"]] = f["value"]
    return sets


def structure_date(period, basis, structure):
    return dt.date.fromisoformat(structure) if basis == "restated" else period_bounds(period)[1]


# ---------------------------------------------------------------- reconcile
print("\nReconcile: root total against its top-level lines (nearest units with a figure)")
gaps = 0
for (period, metric, basis, structure), vals in sorted(fact_sets().items(), key=lambda kv: (period_bounds(kv[0][0])[1], kv[0])):
    kids = tree_on(structure_date(period, basis, structure))

    def nearest(u):
        out = []
        for c in kids.get(u, []):
            out += [c] if c in vals else nearest(c)
        return out

    # every unit with a figure: own remainder (informational except at the root)
    for u, v in vals.items():
        below = nearest(u)
        if not below:
            continue
        rem = v - sum(vals[b] for b in below)
        label = f"{period} {metric} {basis}{'@' + structure if structure else ''}"
        if u == ROOT:
            if abs(rem) > 0.5:
                gaps += 1
                missing = [c for c in kids.get(ROOT, []) if c not in below and not nearest(c)]
                print(f"  gap  {label}: {ROOT} {v:,.0f} - lines {sum(vals[b] for b in below):,.0f} = {rem:,.0f}"
                      f"  (no figure for: {', '.join(missing) or '-'})")
            else:
                print(f"  ok   {label}: {ROOT} {v:,.0f} = {len(below)} lines")
        elif abs(rem) > 0.5:
            print(f"  own  {label}: {u} keeps {rem:,.0f} beyond {', '.join(below)}")
print(f"  {gaps} root total(s) not covered by published lines")


# ---------------------------------------------------------------- restatement replay
def own_parts(vals, day):
    kids = tree_on(day)

    def nearest(u):
        out = []
        for c in kids.get(u, []):
            out += [c] if c in vals else nearest(c)
        return out

    return {u: v - sum(vals[b] for b in nearest(u)) for u, v in vals.items()}


def restate(vals, metric, published_on, target, override=None):
    """Every unit's figure in the target structure: own parts in the published structure,
    flowed through the splits and merges after it, summed by subtree. `override` maps a
    change id to {part unit: share} to try other shares."""
    own = own_parts(vals, published_on)
    for c in changes:
        if not (published_on < c["date"] <= target):
            continue
        if c["kind"] == "split" and c["unit"] in own:
            amount = own.pop(c["unit"])
            for p in c["parts"]:
                share = p.get("shares", {}).get(metric, p.get("share"))
                if override and c.get("id") in override:
                    share = override[c["id"]][p["unit"]]
                own[p["unit"]] = own.get(p["unit"], 0) + share * amount
        elif c["kind"] == "merge":
            for u in c["units"]:
                if u in own:
                    own[c["into"]] = own.get(c["into"], 0) + own.pop(u)
    kids = tree_on(target)

    def total(u):
        return own.get(u, 0) + sum(total(c) for c in kids.get(u, []))

    return {u: total(u) for u in units if alive(u, target)}


def split_change(change_id):
    return next(c for c in changes if c.get("id") == change_id)


def calibrate(change_ids, periods, published_on, target):
    """Least squares over every figure published in the target structure for `periods`
    (one residual per unit, period and metric), each split's first listed part being
    1 minus the others. Returns {change id: {part: share}} and the residuals."""
    free = [(cid, p["unit"]) for cid in change_ids for p in split_change(cid)["parts"][1:]]

    def shares_for(vector):
        out = {}
        for cid in change_ids:
            parts = split_change(cid)["parts"]
            mine = {p["unit"]: vector[free.index((cid, p["unit"]))] for p in parts[1:]}
            mine[parts[0]["unit"]] = 1 - sum(mine.values())
            out[cid] = mine
        return out

    def residuals(vector):
        res = []
        for period in periods:
            for metric in ADDITIVE:
                old = sets.get((period, metric, "reported", ""))
                new = sets.get((period, metric, "restated", target.isoformat()))
                if not old or not new:
                    continue
                got = restate(old, metric, published_on, target, shares_for(vector))
                res += [(f"{u} {metric} {period}", new[u] - got[u]) for u in sorted(new)]
        return res

    base = [0.0] * len(free)
    r0 = [v for _, v in residuals(base)]
    columns = []
    for i in range(len(free)):
        step = base[:]
        step[i] = 1.0
        columns.append([a - b for a, b in zip(r0, [v for _, v in residuals(step)])])
    n = len(free)
    A = [[sum(ci * cj for ci, cj in zip(columns[i], columns[j])) for j in range(n)] + [sum(ci * r for ci, r in zip(columns[i], r0))] for i in range(n)]
    for i in range(n):
        piv = A[i][i]
        A[i] = [v / piv for v in A[i]]
        for k in range(n):
            if k != i:
                A[k] = [vk - A[k][i] * vi for vk, vi in zip(A[k], A[i])]
    vector = [A[i][n] for i in range(n)]
    return shares_for(vector), residuals(vector)


def check_calibration(title, change_ids, periods, published_on, target):
    print(title)
    fitted, res = calibrate(change_ids, periods, published_on, target)
    for cid in change_ids:
        for p in split_change(cid)["parts"]:
            recorded = p["share"]
            print(f"  {cid:26} {p['unit']:20} fitted {fitted[cid][p['unit']]:.6f}  recorded {recorded}")
            if abs(recorded - fitted[cid][p["unit"]]) > 5e-4:
                err(f"{cid}: recorded share for {p['unit']} is not the least-squares fit")
    print("  published in the newer structure vs replayed from the older one with the recorded shares:")
    for period in periods:
        for metric in ADDITIVE:
            old = sets.get((period, metric, "reported", ""))
            new = sets.get((period, metric, "restated", target.isoformat()))
            if not old or not new:
                continue
            got = restate(old, metric, published_on, target)
            for u in sorted(new):
                if abs(new[u] - got[u]) > 0.05:
                    print(f"    {period} {metric:15} {u:25} published {new[u]:>10,.0f}  replayed {got[u]:>12,.1f}"
                          f"  difference {got[u] - new[u]:>+9,.1f}")


sets = fact_sets()
check_calibration("\nCalibration 2025 (FY2025 published under S2 and under S3)",
                  ["split-local-services-2025", "split-all-others-2025"], ["FY2025"],
                  dt.date(2025, 3, 31), dt.date(2025, 4, 1))
# The China E-commerce equations alone, solved exactly (a sensitivity check).
r2 = sets[("FY2025", "revenue", "reported", "")]
e2 = sets[("FY2025", "adjusted_ebita", "reported", "")]
r3 = sets[("FY2025", "revenue", "restated", "2025-04-01")]
e3 = sets[("FY2025", "adjusted_ebita", "restated", "2025-04-01")]
a, b, y1 = r2["local_services"], r2["all_others"], r3["china_commerce"] - r2["china_commerce"]
c, d, y2 = e2["local_services"], e2["all_others"], e3["china_commerce"] - e2["china_commerce"]
det = a * d - b * c
print(f"  China E-commerce alone: {y1:,.0f} = x*{a:,.0f} + y*{b:,.0f};  {y2:,.0f} = x*{c:,.0f} + y*{d:,.0f}"
      f"  ->  x = {(y1 * d - b * y2) / det:.6f}, y = {(a * y2 - c * y1) / det:.6f}")

check_calibration("\nCalibration 2021 (FY2020 and FY2021 published under S0 and under S1)",
                  ["split-core-commerce-2021", "split-innovation-2021"], ["FY2020", "FY2021"],
                  dt.date(2021, 3, 31), dt.date(2021, 10, 1))

print()
if errors:
    print(f"{len(errors)} error(s)")
    sys.exit(1)
print("all hard checks passed")
