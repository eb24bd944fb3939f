#!/usr/bin/env python3
"""Independent verifier of a Fieldloop draw record (双随机、一公开).

Implemented from docs/draw.md, not from the Rust code; Python 3.11, standard
library only.

    python3 scripts/draw_verify.py RECORD.json POOLS.json
    python3 scripts/draw_verify.py RECORD.json          (structure only)

RECORD.json is a published draw record (`DrawRecord`); POOLS.json is a JSON
array of plan pools (`PlanPools`), one per plan. With the pools, everything
is recomputed: commitments, seeds, quotas, the assignment seed, the pool
salts' form, the pool hashes (salted with each pool's `salt`) and sizes, the
drawn subjects (whose tickets also take the salt), the joint visits, the
inspectors and the unstaffed visits. Without them (what the public has), the
commitments, seeds, quotas and assignment seed are recomputed and the rest is
only checked for consistency, as `fieldloop-server draw verify` does without
`--pools`. Either way the entropy rules are checked: at
least one source, entered by someone other than who fixed the plan, after it
was fixed, every value usable.

Exit status: 0 if the record matches ("ok: N plans, M tasks recomputed"),
1 at the first place that differs or if an input cannot be read as the
format requires, 2 on a usage error.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

DRAW_VERSION = 1
FULL_RATIO = 10_000
MIN_INSPECTORS = 2
COMMIT_DOMAIN = "fieldloop-draw-commit-v1"
SEED_DOMAIN = "fieldloop-draw-seed-v1"
ASSIGN_DOMAIN = "fieldloop-draw-assign-v1"
CLASSES = ("A", "B", "C", "D")

# Unicode White_Space (PropList.txt): what Rust's `char::is_whitespace` (and
# so `str::split_whitespace`) tests. Not `str.isspace` / `str.split()`, which
# also count U+001C..U+001F.
WHITE_SPACE = frozenset(
    [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680]
    + list(range(0x2000, 0x200B))
    + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)


# --- errors ------------------------------------------------------------------


def show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, dict, bool)) or value is None:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


class Mismatch(Exception):
    """The first place where the record differs from its recomputation."""

    def __init__(self, place: str, expected: Any, found: Any):
        super().__init__(place)
        self.place = place
        self.expected = expected
        self.found = found

    def __str__(self) -> str:
        return (
            f"{self.place}: recomputed {show(self.expected)}, "
            f"the record has {show(self.found)}"
        )


class BadInput(Exception):
    """An input that the Rust side would refuse to read."""


def same(place: str, expected: Any, found: Any) -> None:
    if expected != found:
        raise Mismatch(place, expected, found)


# --- the formats (field order = serialisation order) ------------------------
#
# Each struct is a list of (field, type, default); REQUIRED marks fields
# without a serde default. Types: "str", "bool", "u32", "usize", "i64",
# "class", ("list", T), ("opt", T) or the name of a struct.

REQUIRED = object()
FILTER_DEFAULT = {"industries": [], "townships": [], "classes": []}

STRUCTS: dict[str, list[tuple[str, Any, Any]]] = {
    "Ratios": [("A", "u32", REQUIRED), ("B", "u32", REQUIRED),
               ("C", "u32", REQUIRED), ("D", "u32", REQUIRED)],
    "DayWindow": [("start", "str", REQUIRED), ("due", "str", REQUIRED)],
    "SubjectFilter": [
        ("industries", ("list", "str"), []),
        ("townships", ("list", "str"), []),
        ("classes", ("list", "class"), []),
    ],
    "PlanSpec": [
        ("name", "str", REQUIRED),
        ("departments", ("list", "str"), REQUIRED),
        ("lead_department", "str", REQUIRED),
        ("items", ("list", "str"), REQUIRED),
        ("filter", "SubjectFilter", FILTER_DEFAULT),
        ("ratios", "Ratios", REQUIRED),
        ("inspectors_per_task", "u32", REQUIRED),
        ("teams", ("list", "str"), REQUIRED),
        ("window", "DayWindow", REQUIRED),
        ("special_reason", ("opt", "str"), None),
        ("recuse_same_township", "bool", False),
        ("entropy_sources", ("list", "str"), REQUIRED),
    ],
    "ItemRef": [("id", "str", REQUIRED), ("department", "str", REQUIRED),
                ("industries", ("list", "str"), REQUIRED)],
    "PlanParams": [("id", "str", REQUIRED), ("spec", "PlanSpec", REQUIRED),
                   ("catalog", ("list", "ItemRef"), REQUIRED)],
    # An absent Option field reads as null even without a serde default.
    "PoolSubject": [("uscc", "str", REQUIRED), ("name", "str", REQUIRED),
                    ("industry", "str", REQUIRED), ("township", ("opt", "str"), None)],
    "PoolInspector": [("id", "str", REQUIRED), ("department", "str", REQUIRED),
                      ("team", "str", REQUIRED), ("township", ("opt", "str"), None)],
    "Recusal": [("inspector", "str", REQUIRED), ("uscc", "str", REQUIRED)],
    "ClassPools": [(c, ("list", "PoolSubject"), REQUIRED) for c in CLASSES],
    "Exclusion": [("uscc", "str", REQUIRED), ("name", "str", REQUIRED),
                  ("inspections", "u32", REQUIRED), ("limit", "u32", REQUIRED)],
    "PlanPools": [
        ("plan", "str", REQUIRED),
        ("salt", "str", REQUIRED),
        ("subjects", "ClassPools", REQUIRED),
        ("inspectors", ("list", "PoolInspector"), REQUIRED),
        ("recusals", ("list", "Recusal"), REQUIRED),
        ("excluded", ("list", "Exclusion"), []),
    ],
    "PoolHashes": [(c, "str", REQUIRED) for c in CLASSES]
    + [("inspectors", "str", REQUIRED), ("recusals", "str", REQUIRED)],
    "PoolSizes": [(c, "usize", REQUIRED) for c in CLASSES]
    + [("inspectors", "usize", REQUIRED), ("excluded", "usize", REQUIRED)],
    "EntropyValues": [("values", ("list", "str"), REQUIRED),
                      ("entered_by", "str", REQUIRED),
                      ("entered_at", "i64", REQUIRED)],
    "PoolQuotas": [(c, "usize", REQUIRED) for c in CLASSES],
    "DrawnPlan": [
        ("params", "PlanParams", REQUIRED),
        ("pool_hashes", "PoolHashes", REQUIRED),
        ("pool_sizes", "PoolSizes", REQUIRED),
        ("commitment", "str", REQUIRED),
        ("fixed_by", "str", REQUIRED),
        ("fixed_at", "i64", REQUIRED),
        ("entropy", "EntropyValues", REQUIRED),
        ("seed", "str", REQUIRED),
        ("quotas", "PoolQuotas", REQUIRED),
        ("selected", ("list", "str"), REQUIRED),
    ],
    "DrawTask": [
        ("uscc", "str", REQUIRED),
        ("name", "str", REQUIRED),
        ("plans", ("list", "str"), REQUIRED),
        ("departments", ("list", "str"), REQUIRED),
        ("lead_department", "str", REQUIRED),
        ("items", ("list", "str"), REQUIRED),
        ("window", "DayWindow", REQUIRED),
        ("team", "str", REQUIRED),
        ("inspectors", ("list", "str"), REQUIRED),
    ],
    "Unstaffed": [
        ("uscc", "str", REQUIRED),
        ("name", "str", REQUIRED),
        ("plans", ("list", "str"), REQUIRED),
        ("eligible", "usize", REQUIRED),
        ("needed", "usize", REQUIRED),
    ],
    "DrawRecord": [
        ("version", "u32", REQUIRED),
        ("id", "str", REQUIRED),
        ("at", "i64", REQUIRED),
        ("by", "str", REQUIRED),
        ("plans", ("list", "DrawnPlan"), REQUIRED),
        ("split", ("list", "str"), REQUIRED),
        ("assign_seed", "str", REQUIRED),
        ("tasks", ("list", "DrawTask"), REQUIRED),
        ("unstaffed", ("list", "Unstaffed"), REQUIRED),
    ],
}

INT_RANGES = {
    "u32": (0, 2**32 - 1),
    "usize": (0, 2**64 - 1),
    "i64": (-(2**63), 2**63 - 1),
}


def parse(value: Any, ty: Any, path: str) -> Any:
    """Checks `value` against `ty` and rebuilds it with fields in declaration
    order and defaults filled in, as serde would read and write it."""
    if isinstance(ty, tuple):
        kind, inner = ty
        if kind == "opt":
            return None if value is None else parse(value, inner, path)
        if not isinstance(value, list):
            raise BadInput(f"{path}: expected an array")
        return [parse(v, inner, f"{path}[{i}]") for i, v in enumerate(value)]
    if ty == "str":
        if not isinstance(value, str):
            raise BadInput(f"{path}: expected a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput(f"{path}: not valid Unicode (lone surrogate)") from None
        return value
    if ty == "bool":
        if not isinstance(value, bool):
            raise BadInput(f"{path}: expected true or false")
        return value
    if ty in INT_RANGES:
        lo, hi = INT_RANGES[ty]
        if type(value) is not int or not lo <= value <= hi:
            raise BadInput(f"{path}: expected an integer ({ty})")
        return value
    if ty == "class":
        if value not in CLASSES:
            raise BadInput(f'{path}: expected one of "A", "B", "C", "D"')
        return value
    fields = STRUCTS[ty]
    if not isinstance(value, dict):
        raise BadInput(f"{path}: expected an object ({ty})")
    known = {name for name, _, _ in fields}
    for key in value:
        if key not in known:
            raise BadInput(f"{path}: unknown field {key!r} in {ty}")
    out = {}
    for name, fty, default in fields:
        if name in value:
            out[name] = parse(value[name], fty, f"{path}.{name}")
        elif default is REQUIRED:
            raise BadInput(f"{path}: missing field {name!r} of {ty}")
        else:
            out[name] = json.loads(json.dumps(default))  # a fresh copy
    return out


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BadInput(f"duplicate field {key!r}")
        out[key] = value
    return out


def load(path: str, ty: Any, name: str) -> Any:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise BadInput(f"{name}: {e}") from None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, object_pairs_hook=no_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"{name}: not JSON: {e}") from None
    except BadInput as e:
        raise BadInput(f"{name}: {e}") from None
    return parse(data, ty, name)


# --- primitives --------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """serde_json::to_string of the value: compact, UTF-8, no `\\u` escapes
    except for control characters. Objects must already be in field order."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sha256_hex(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
    return h.hexdigest()


def pool_hashes(pools: dict) -> dict:
    """SHA-256 of the salt (its hex text), LF and the list's canonical JSON."""

    def salted(lst: list) -> str:
        return sha256_hex(pools["salt"], "\n", canonical_json(lst))

    out = {c: salted(pools["subjects"][c]) for c in CLASSES}
    out["inspectors"] = salted(pools["inspectors"])
    out["recusals"] = salted(pools["recusals"])
    return out


def pool_sizes(pools: dict) -> dict:
    out = {c: len(pools["subjects"][c]) for c in CLASSES}
    out["inspectors"] = len(pools["inspectors"])
    out["excluded"] = len(pools["excluded"])
    return out


def commitment(params: dict, hashes: dict, sizes: dict) -> str:
    return sha256_hex(
        COMMIT_DOMAIN, "\n",
        canonical_json(params), "\n",
        canonical_json(hashes), "\n",
        canonical_json(sizes),
    )


def canonical_entropy(value: str) -> str:
    """Full-width forms made ASCII, U+3000 a space, a-z upper-cased, then each
    run of White_Space one space and none at either end."""
    words: list[str] = []
    word: list[str] = []
    for ch in value:
        cp = ord(ch)
        if 0xFF01 <= cp <= 0xFF5E:  # full-width ASCII
            cp -= 0xFEE0
        elif cp == 0x3000:  # ideographic space
            cp = 0x20
        if 0x61 <= cp <= 0x7A:  # a-z
            cp -= 0x20
        if cp in WHITE_SPACE:
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(chr(cp))
    if word:
        words.append("".join(word))
    return " ".join(words)


def entropy_value_ok(value: str) -> bool:
    c = canonical_entropy(value)
    return c != "" and "/" not in c


def seed(commit: str, values: list[str]) -> str:
    key = "".join(canonical_entropy(v) + "/" for v in values)
    return sha256_hex(SEED_DOMAIN, "\n", commit, "\n", key)


def assign_seed(seeds: dict[str, str]) -> str:
    parts = [ASSIGN_DOMAIN, "\n"]
    for plan_id in sorted(seeds):
        parts += [seeds[plan_id], "\n"]
    return sha256_hex(*parts)


def ticket(seed_hex: str, *parts: str) -> bytes:
    """SHA-256 of the seed text, then each part preceded by `/`."""
    h = hashlib.sha256(seed_hex.encode("utf-8"))
    for p in parts:
        h.update(b"/")
        h.update(p.encode("utf-8"))
    return h.digest()


def quota(pool: int, ratio: int) -> int:
    ratio = min(ratio, FULL_RATIO)
    return (pool * ratio + FULL_RATIO - 1) // FULL_RATIO


def quotas_of(ratios: dict, sizes: dict) -> dict:
    return {c: quota(sizes[c], ratios[c]) for c in CLASSES}


def intersect(x: dict, y: dict) -> dict | None:
    start = max(x["start"], y["start"])
    due = min(x["due"], y["due"])
    return {"start": start, "due": due} if start <= due else None


# --- the draw ----------------------------------------------------------------


def salt_ok(salt: str) -> bool:
    """64 lowercase hex digits, as the server draws them (32 random bytes)."""
    return len(salt) == 64 and all(ch in "0123456789abcdef" for ch in salt)


def draw(inputs: list[tuple[dict, dict, str]], split: set[str]) -> dict:
    """inputs: (params, pools, seed) per plan. Returns selected per plan id,
    the assignment seed, the tasks and the unstaffed visits."""
    plans = sorted(inputs, key=lambda p: p[0]["id"])

    # 1. Subjects.
    selected: dict[str, list[str]] = {}
    picked: dict[str, list[int]] = {}
    subject_of: dict[str, dict] = {}
    for index, (params, pools, plan_seed) in enumerate(plans):
        chosen: list[str] = []
        for c in CLASSES:
            pool = pools["subjects"][c]
            q = quota(len(pool), params["spec"]["ratios"][c])
            # Keyed by the pool's salt too, so that the public seed does not
            # tell which class a drawn subject came from.
            ranked = sorted(
                ((ticket(plan_seed, pools["salt"], c, s["uscc"]), s) for s in pool),
                key=lambda t: (t[0], t[1]["uscc"]),
            )
            for _, s in ranked[:q]:
                chosen.append(s["uscc"])
                picked.setdefault(s["uscc"], []).append(index)
                subject_of.setdefault(s["uscc"], s)
        # Listed in USCC order: the record does not say which is of which class.
        selected[params["id"]] = sorted(chosen)

    # 2. Joint visits.
    tasks: list[dict] = []  # task, subject, teams, needed, members
    for uscc in sorted(picked):
        members = sorted(
            set(picked[uscc]),
            key=lambda m: (plans[m][0]["spec"]["window"]["start"], plans[m][0]["id"]),
        )
        groups: list[dict] = []
        for m in members:
            spec = plans[m][0]["spec"]
            teams = set(spec["teams"])
            if uscc not in split and groups:
                last = groups[-1]
                window = intersect(last["window"], spec["window"])
                if window is not None:
                    shared = last["teams"] & teams
                    if shared:
                        last["members"].append(m)
                        last["window"] = window
                        last["teams"] = shared
                        continue
            groups.append({"members": [m], "window": dict(spec["window"]), "teams": teams})
        subject = subject_of[uscc]
        for g in groups:
            items: list[str] = []
            departments: list[str] = []
            seen: set[str] = set()
            for m in g["members"]:
                for item in plans[m][0]["catalog"]:
                    applies = not item["industries"] or subject["industry"] in item["industries"]
                    if applies and item["id"] not in seen:
                        seen.add(item["id"])
                        items.append(item["id"])
                        if item["department"] not in departments:
                            departments.append(item["department"])
            lead_spec = plans[g["members"][0]][0]["spec"]
            if lead_spec["lead_department"] in departments:
                lead_department = lead_spec["lead_department"]
            else:
                lead_department = departments[0] if departments else ""
            needed = max(
                max(plans[m][0]["spec"]["inspectors_per_task"] for m in g["members"]),
                MIN_INSPECTORS,
            )
            task = {
                "uscc": uscc,
                "name": subject["name"],
                "plans": [plans[m][0]["id"] for m in g["members"]],
                "departments": departments,
                "lead_department": lead_department,
                "items": items,
                "window": g["window"],
                "team": "",
                "inspectors": [],
            }
            tasks.append({"task": task, "subject": subject, "teams": sorted(g["teams"]),
                          "needed": needed, "members": g["members"]})

    # 3. Inspectors.
    assign = assign_seed({p[0]["id"]: p[2] for p in plans})
    recused = [
        {(r["inspector"], r["uscc"]) for r in pools["recusals"]}
        for _, pools, _ in plans
    ]
    order = sorted(
        range(len(tasks)),
        key=lambda i: (ticket(assign, "task", tasks[i]["task"]["uscc"],
                              tasks[i]["task"]["plans"][0]), i),
    )
    team_load: dict[str, int] = {}
    load: dict[str, int] = {}
    for i in order:
        entry = tasks[i]
        task, needed, members = entry["task"], entry["needed"], entry["members"]
        uscc = task["uscc"]
        township = entry["subject"]["township"]
        by_township = any(plans[m][0]["spec"]["recuse_same_township"] for m in members)

        def barred(p: dict) -> bool:
            if any((p["id"], uscc) in recused[m] for m in members):
                return True
            # Recusal by township: both townships known and equal, and any
            # plan served asks for it.
            return (by_township and township is not None
                    and p["township"] is not None and p["township"] == township)

        best = None  # (key, team, eligible)
        most_eligible = 0
        for team in entry["teams"]:
            eligible: list[dict] = []
            ids: set[str] = set()
            for m in members:
                for p in plans[m][1]["inspectors"]:
                    if (
                        p["team"] == team
                        and p["department"] in task["departments"]
                        and not barred(p)
                        and p["id"] not in ids
                    ):
                        eligible.append(p)
                        ids.add(p["id"])
            most_eligible = max(most_eligible, len(eligible))
            can_lead = any(p["department"] == task["lead_department"] for p in eligible)
            if len(eligible) < needed or not can_lead:
                continue
            key = (team_load.get(team, 0), ticket(assign, "team", uscc, team))
            if best is None or key < best[0]:
                best = (key, team, eligible)
        if best is None:
            entry["staffed"] = False
            entry["eligible"] = most_eligible
            continue
        _, team, eligible = best

        def rank(p: dict) -> tuple[int, bytes]:
            return (load.get(p["id"], 0), ticket(assign, "inspector", uscc, p["id"]))

        lead = min(
            (p for p in eligible if p["department"] == task["lead_department"]),
            key=rank,
        )["id"]
        rest = sorted((p for p in eligible if p["id"] != lead), key=rank)
        chosen = [lead] + [p["id"] for p in rest[: needed - 1]]
        for pid in chosen:
            load[pid] = load.get(pid, 0) + 1
        team_load[team] = team_load.get(team, 0) + 1
        task["team"] = team
        task["inspectors"] = chosen
        entry["staffed"] = True

    done = [e["task"] for e in tasks if e["staffed"]]
    unstaffed = [
        {
            "uscc": e["task"]["uscc"],
            "name": e["task"]["name"],
            "plans": e["task"]["plans"],
            "eligible": e["eligible"],
            "needed": e["needed"],
        }
        for e in tasks
        if not e["staffed"]
    ]
    return {"selected": selected, "assign_seed": assign, "tasks": done,
            "unstaffed": unstaffed}


# --- verification --------------------------------------------------------------


def verify(record: dict, pools: list[dict] | None) -> tuple[int, int]:
    """Raises Mismatch at the first difference; returns (plans, tasks)."""
    same("version", DRAW_VERSION, record["version"])
    ids = [p["params"]["id"] for p in record["plans"]]
    same("plans (in order of id, each once)", sorted(set(ids)), ids)
    seeds: dict[str, str] = {}
    for i, plan in enumerate(record["plans"]):
        at = f"plans[{i}]."
        params = plan["params"]
        c = commitment(params, plan["pool_hashes"], plan["pool_sizes"])
        same(at + "commitment", c, plan["commitment"])
        entropy = plan["entropy"]
        if not params["spec"]["entropy_sources"]:
            raise Mismatch(at + "params.spec.entropy_sources", "at least one source", "none")
        if entropy["entered_by"] == plan["fixed_by"]:
            raise Mismatch(at + "entropy.entered_by",
                           "someone other than who fixed the plan", entropy["entered_by"])
        if entropy["entered_at"] <= plan["fixed_at"]:
            raise Mismatch(at + "entropy.entered_at",
                           f"after the plan was fixed ({plan['fixed_at']})", entropy["entered_at"])
        bad = next((v for v in entropy["values"] if not entropy_value_ok(v)), None)
        if bad is not None:
            raise Mismatch(at + "entropy.values",
                           "values with something in them and no '/'", bad)
        same(at + "entropy.values (one per source)",
             len(params["spec"]["entropy_sources"]), len(plan["entropy"]["values"]))
        same(at + "seed", seed(plan["commitment"], plan["entropy"]["values"]), plan["seed"])
        q = quotas_of(params["spec"]["ratios"], plan["pool_sizes"])
        same(at + "quotas", q, plan["quotas"])
        same(at + "selected (count)", sum(q.values()), len(plan["selected"]))
        seeds[params["id"]] = plan["seed"]
    same("assign_seed", assign_seed(seeds), record["assign_seed"])
    split = set(record["split"])

    if pools is None:
        structure(record, split)
        return len(record["plans"]), len(record["tasks"])

    inputs = []
    for i, plan in enumerate(record["plans"]):
        plan_id = plan["params"]["id"]
        pool = next((p for p in pools if p["plan"] == plan_id), None)
        if pool is None:
            raise Mismatch(f"pools for plans[{i}]", plan_id, "no pools for this plan")
        if not salt_ok(pool["salt"]):
            raise Mismatch(f"pools[{i}].salt", "64 lowercase hex digits", pool["salt"])
        hashes = pool_hashes(pool)
        for part in CLASSES + ("inspectors", "recusals"):
            same(f"plans[{i}].pool_hashes.{part}", hashes[part], plan["pool_hashes"][part])
        sizes = pool_sizes(pool)
        # The over-inspection guard's exclusions are not hashed: take the
        # record's count.
        sizes["excluded"] = plan["pool_sizes"]["excluded"]
        same(f"plans[{i}].pool_sizes", sizes, plan["pool_sizes"])
        inputs.append((plan["params"], pool, plan["seed"]))

    out = draw(inputs, split)
    for i, plan in enumerate(record["plans"]):
        expected = out["selected"][plan["params"]["id"]]
        for j, (e, f) in enumerate(zip(expected, plan["selected"])):
            same(f"plans[{i}].selected[{j}]", e, f)
    same("tasks (count)", len(out["tasks"]), len(record["tasks"]))
    for k, (e, f) in enumerate(zip(out["tasks"], record["tasks"])):
        for field in ("uscc", "plans", "items", "departments", "lead_department",
                      "window", "team", "inspectors", "name"):
            same(f"tasks[{k}].{field}", e[field], f[field])
    same("unstaffed", out["unstaffed"], record["unstaffed"])
    return len(record["plans"]), len(record["tasks"])


def structure(record: dict, split: set[str]) -> None:
    """The checks that need no pools."""
    plans = {p["params"]["id"]: p for p in record["plans"]}
    wanted: set[tuple[str, str]] = set()
    for i, p in enumerate(record["plans"]):
        for j, u in enumerate(p["selected"]):
            pair = (p["params"]["id"], u)
            if pair in wanted:
                raise Mismatch(f"plans[{i}].selected[{j}]", "each subject once", u)
            wanted.add(pair)
    visits = [(t["uscc"], t["plans"], t) for t in record["tasks"]]
    visits += [(u["uscc"], u["plans"], None) for u in record["unstaffed"]]
    for k, (uscc, served, task) in enumerate(visits):
        if not served:
            raise Mismatch(f"visit {k} ({uscc}).plans", "at least one plan", "none")
        if uscc in split and len(served) > 1:
            raise Mismatch(f"visit {k} ({uscc}).plans",
                           "one plan (its merge was undone)", served)
        window = None
        for plan_id in served:
            if (plan_id, uscc) not in wanted:
                raise Mismatch(f"visit {k} ({uscc}).plans",
                               "plans that drew this subject, each once", plan_id)
            wanted.discard((plan_id, uscc))
            w = plans[plan_id]["params"]["spec"]["window"]
            if window is None:
                window = dict(w)
            else:
                window = intersect(window, w)
                if window is None:
                    raise Mismatch(f"visit {k} ({uscc}).plans",
                                   "plans whose windows overlap", served)
        if task is None:
            continue
        same(f"tasks[{k}].window", window, task["window"])
        people = task["inspectors"]
        distinct = len(set(people))
        if distinct < MIN_INSPECTORS or distinct != len(people):
            raise Mismatch(f"tasks[{k}].inspectors",
                           "at least two distinct inspectors", people)
        served_plans = [plans[p] for p in task["plans"] if p in plans]
        needed = max(
            max((p["params"]["spec"]["inspectors_per_task"] for p in served_plans),
                default=MIN_INSPECTORS),
            MIN_INSPECTORS,
        )
        if distinct != needed:
            raise Mismatch(f"tasks[{k}].inspectors",
                           f"exactly {needed} inspectors, as the plans ask", people)
        if not all(task["team"] in p["params"]["spec"]["teams"] for p in served_plans):
            raise Mismatch(f"tasks[{k}].team", "a team of every plan served", task["team"])
        if task["lead_department"] not in task["departments"]:
            raise Mismatch(f"tasks[{k}].lead_department",
                           "one of the task's departments", task["lead_department"])
        for item in task["items"]:
            # The first served plan whose catalog has the id; its first entry.
            known = next(
                (c for p in served_plans for c in p["params"]["catalog"] if c["id"] == item),
                None,
            )
            if known is None or known["department"] not in task["departments"]:
                raise Mismatch(f"tasks[{k}].items",
                               "items of the plans served, of the task's departments", item)
    if wanted:
        plan_id, uscc = min(wanted)
        raise Mismatch(f"plan {plan_id}", f"a visit for drawn subject {uscc}", "none")


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or any(a in ("-h", "--help") for a in argv[1:]):
        print("usage: python3 scripts/draw_verify.py RECORD.json [POOLS.json]", file=sys.stderr)
        return 2
    try:
        record = load(argv[1], "DrawRecord", "RECORD.json")
        pools = load(argv[2], ("list", "PlanPools"), "POOLS.json") if len(argv) == 3 else None
    except BadInput as e:
        print(f"error: {e}")
        return 1
    try:
        n_plans, n_tasks = verify(record, pools)
    except Mismatch as e:
        print(f"differs: {e}")
        return 1
    for plan in record["plans"]:
        spec = plan["params"]["spec"]
        for source, value in zip(spec["entropy_sources"], plan["entropy"]["values"]):
            print(f"note: check by hand: {source} = {value}", file=sys.stderr)
    if pools is None:
        print(f"ok: {n_plans} plans, {n_tasks} tasks checked "
              f"(no pools: selection and inspectors not recomputed)")
    else:
        print(f"ok: {n_plans} plans, {n_tasks} tasks recomputed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
