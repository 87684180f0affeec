#!/usr/bin/env python3
"""massif_diff.py BEFORE AFTER N [EXE] -- heap per connection, by allocation site.

BEFORE and AFTER are massif snapshot files (vgdb detailed_snapshot, or a
massif.out whose last detailed snapshot is used) of the same process with
N more idle connections in AFTER.  Prints the heap growth per connection
(useful bytes and malloc's extra bytes), then the growth broken down two
ways:

  site   the first frame above the allocator wrappers (malloc, CRYPTO_malloc,
         event_mm_malloc_, ...): what was allocated (SSL_new's connection
         object, an EVP cipher context, an evbuffer chain, ...);
  owner  the first frame in the program itself (not in a shared library,
         or in EXE): which of the program's functions asked for it.

Massif's tree is inverted (allocator at the top, callers below), so a
site is found walking from the root down; bytes of a node include all of
its callers, and the walk stops at the first frame that decides the key.
"""
import re
import sys
from collections import defaultdict

WRAPPERS = re.compile(
    r"^(malloc|calloc|realloc|memalign|posix_memalign|aligned_alloc|operator new.*|"
    r"CRYPTO_(malloc|zalloc|realloc|clear_realloc|strdup|strndup|memdup|secure_malloc|secure_zalloc)|"
    r"event_mm_(malloc|calloc|realloc|strdup)_|mm_(malloc|calloc|realloc)|"
    r"BUF_MEM_grow(_clean)?|OPENSSL_sk_.*|ossl_sa_.*|lh_.*|OPENSSL_LH_.*|"
    r"evbuffer_chain_new|evbuffer_chain_new_membuf|evbuffer_expand_singlechain|evbuffer_expand_fast_|"
    r"ha_malloc|ha_calloc|pool_alloc.*|__pool_alloc|pool_get_from_os.*|"
    r"ngx_alloc|ngx_calloc|ngx_palloc.*|ngx_pnalloc|ngx_pcalloc|ngx_memalign|ngx_create_pool)$")

NODE = re.compile(r"^(\s*)n(\d+): (\d+) (.*)$")


def parse(path):
    """The last detailed snapshot's tree: (heap, extra, list of (depth, bytes, label))."""
    snaps, cur = [], None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("snapshot="):
                cur = {"heap": 0, "extra": 0, "tree": []}
                snaps.append(cur)
            elif cur is not None and line.startswith("mem_heap_B="):
                cur["heap"] = int(line.split("=")[1])
            elif cur is not None and line.startswith("mem_heap_extra_B="):
                cur["extra"] = int(line.split("=")[1])
            elif cur is not None:
                m = NODE.match(line)
                if m:
                    cur["tree"].append((len(m.group(1)), int(m.group(3)), m.group(4)))
    detailed = [s for s in snaps if s["tree"]]
    if not detailed:
        sys.exit("%s: no detailed snapshot" % path)
    return detailed[-1]


def fn_of(label):
    """'0x4A2B: SSL_new (ssl_lib.c:700)' -> 'SSL_new'; the place text as is."""
    m = re.match(r"^(?:0x[0-9A-Fa-f]+: )?(.*?)(?: \((?:in )?[^()]*\))?$", label)
    name = m.group(1) if m else label
    return name.strip()


def is_own(label, exe):
    if exe and ("(in %s)" % exe) in label:
        return True
    return "(in /" not in label and "vg_replace_malloc" not in label and not label.startswith("in ")


def attribute(tree, key_fn):
    """Sum bytes by key: walk each path from the root, stop at the first node key_fn decides."""
    out = defaultdict(int)
    stack = []  # the ancestors' (depth, label) of the current node
    decided_depth = None
    for depth, nbytes, label in tree:
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if decided_depth is not None and depth > decided_depth:
            continue  # inside a subtree already counted
        decided_depth = None
        stack.append((depth, label))
        if depth == 0:
            continue  # the root: all heap
        key = key_fn(label)
        if key is not None:
            out[key] += nbytes
            decided_depth = depth
        elif label.startswith("in ") or "all below massif's threshold" in label:
            # below the threshold: name it by the last frame above
            parent = stack[-2][1] if len(stack) >= 2 else "?"
            out["(small, under %s)" % fn_of(parent)] += nbytes
            decided_depth = depth
    return out


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    before, after, n = parse(sys.argv[1]), parse(sys.argv[2]), int(sys.argv[3])
    exe = sys.argv[4] if len(sys.argv) > 4 else ""
    if n <= 0:
        sys.exit("N must be > 0")

    def site_key(label):
        name = fn_of(label)
        if label.startswith("in ") or WRAPPERS.match(name) or name.startswith("0x") or name == "???":
            return None
        return name

    def owner_key(label):
        if label.startswith("in ") or not is_own(label, exe) or WRAPPERS.match(fn_of(label)):
            return None
        return fn_of(label)

    dh = (after["heap"] - before["heap"]) / n
    dx = (after["extra"] - before["extra"]) / n
    print("heap_per_conn_B=%.0f extra_per_conn_B=%.0f total_per_conn_B=%.0f" % (dh, dx, dh + dx))
    for title, key_fn in (("site", site_key), ("owner", owner_key)):
        a, b = attribute(before["tree"], key_fn), attribute(after["tree"], key_fn)
        rows = sorted(((b.get(k, 0) - a.get(k, 0)) / n, k) for k in set(a) | set(b))
        rows = [r for r in reversed(rows) if abs(r[0]) >= 16]
        print("# by %s: bytes per connection" % title)
        for v, k in rows[:25]:
            print("%8.0f  %s" % (v, k))


if __name__ == "__main__":
    main()
