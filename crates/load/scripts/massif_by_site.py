#!/usr/bin/env python3
"""Heap by allocation site from a valgrind massif profile (issue 8 item 5: where a client's
memory goes). For one detailed snapshot, each allocation is attributed to its first caller
that is not the allocator or the standard library (a str0m, alcove, tokio, sqlite, … function),
and the sites are listed largest first, with the bytes per client over a baseline snapshot.

    massif_by_site.py MASSIF_OUT SNAPSHOT CLIENTS [BASELINE_SNAPSHOT]
"""
import re
import sys

SKIP = re.compile(
    r"^(alloc::|core::|std::|<alloc::|<core::|<std::|hashbrown::|<hashbrown|bytes::|<bytes|"
    r"smallvec|<smallvec|__rust|serde_json::|<serde|serde::)"
)


def load(path):
    return open(path).read().split("\n")


def tree_start(lines, n):
    i = lines.index(f"snapshot={n}")
    while not lines[i].startswith("heap_tree="):
        i += 1
    if lines[i] != "heap_tree=detailed" and lines[i] != "heap_tree=peak":
        sys.exit(f"snapshot {n} is not a detailed one ({lines[i]})")
    return i + 1


def parse(lines, i):
    m = re.match(r"\s*n(\d+): (\d+) (.*)", lines[i])
    k, b, fn = int(m.group(1)), int(m.group(2)), m.group(3)
    i += 1
    children = []
    for _ in range(k):
        c, i = parse(lines, i)
        children.append(c)
    return (b, fn, children), i


def clean(fn):
    fn = re.sub(r"^0x[0-9A-F]+: ", "", fn)
    return re.sub(r" \(in .*\)$", "", fn)


def by_site(node, out):
    b, fn, children = node
    f = clean(fn)
    generic = SKIP.match(f) or "heap allocation" in f
    if not generic or not children:
        out[f] = out.get(f, 0) + b
        return
    for c in children:
        by_site(c, out)


def sites(lines, n):
    root, _ = parse(lines, tree_start(lines, n))
    out = {}
    by_site(root, out)
    return out


def main():
    path, snap, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    lines = load(path)
    now = sites(lines, snap)
    base = sites(lines, int(sys.argv[4])) if len(sys.argv) > 4 else {}
    total, base_total = sum(now.values()), sum(base.values())
    print(f"snapshot {snap}: heap {total / 1024:.0f} KiB; baseline {base_total / 1024:.0f} KiB; "
          f"per client {(total - base_total) / 1024 / clients:.0f} KiB over {clients} clients")
    rows = sorted(now.items(), key=lambda kv: -(kv[1] - base.get(kv[0], 0)))
    for site, b in rows[:20]:
        grown = b - base.get(site, 0)
        print(f"{grown / 1024 / clients:8.1f} KiB/client {b / 1024:9.1f} KiB  {site[:110]}")


if __name__ == "__main__":
    main()
