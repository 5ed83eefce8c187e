#!/usr/bin/env python3
"""Folds `perf script` output into stacks and lists the top entries.

    perf script -i perf.data | perf_fold.py FOLDED_OUT TOP_OUT [N]

FOLDED_OUT gets one line per distinct stack, root first, `thread;frame;...;leaf COUNT` (the
format inferno-flamegraph and flamegraph.pl read). TOP_OUT gets the top N (default 30)
functions by self time (the sample's leaf) and by inclusive time (anywhere on the stack,
counted once per sample), as a share of all samples. Kernel frames end in ` [k]`; Rust
symbol hashes (`::h0123456789abcdef`) are dropped so that one function is one entry.
"""
import collections
import re
import sys

HASH = re.compile(r"::h[0-9a-f]{16}$")
OFFSET = re.compile(r"\+0x[0-9a-f]+$")


def frame_name(line):
    # "    ffffffff813ae453 finish_task_switch.isra.0+0x93 ([kernel.kallsyms])"
    parts = line.strip().split(" ", 1)
    if len(parts) < 2:
        return None
    rest = parts[1]
    dso = ""
    if rest.endswith(")") and " (" in rest:
        rest, dso = rest.rsplit(" (", 1)
        dso = dso[:-1]
    sym = OFFSET.sub("", rest.strip())
    sym = HASH.sub("", sym)
    if sym in ("[unknown]", ""):
        sym = "[unknown " + dso.rsplit("/", 1)[-1] + "]"
    if "kernel.kallsyms" in dso:
        sym += " [k]"
    return sym.replace(";", ":")


def samples(lines):
    head = None
    frames = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if head is not None:
                yield head, frames
            head, frames = None, []
            continue
        if head is None:
            # "tokio-runtime-w  4242 [001] 1067.541360:    1001001 cpu-clock:pppH: "
            head = line.split()[0] if line.split() else "?"
            head = re.sub(r"[0-9]+$", "", head) or head
            continue
        name = frame_name(line)
        if name:
            frames.append(name)
    if head is not None:
        yield head, frames


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    folded_out, top_out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    stacks = collections.Counter()
    self_c = collections.Counter()
    incl_c = collections.Counter()
    kernel = 0
    total = 0
    for thread, frames in samples(sys.stdin):
        if not frames:
            continue
        total += 1
        leaf_first = frames  # perf script prints the leaf first
        stacks[";".join([thread] + leaf_first[::-1])] += 1
        self_c[leaf_first[0]] += 1
        if leaf_first[0].endswith(" [k]"):
            kernel += 1
        for f in set(leaf_first):
            incl_c[f] += 1
    with open(folded_out, "w") as f:
        for stack, count in sorted(stacks.items()):
            f.write(f"{stack} {count}\n")
    with open(top_out, "w") as f:
        f.write(f"samples: {total}; leaf in the kernel: {100.0 * kernel / max(total, 1):.1f}%\n\n")
        for title, counter in (("self", self_c), ("inclusive", incl_c)):
            f.write(f"top {n} by {title} time (% of samples)\n")
            for name, count in counter.most_common(n):
                f.write(f"{100.0 * count / max(total, 1):6.2f}%  {name}\n")
            f.write("\n")


if __name__ == "__main__":
    main()
