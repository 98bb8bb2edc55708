#!/usr/bin/env python3
"""Writes a small, deterministic tree shaped like an installed DCC
application (binaries, libraries with version symlinks, Python scripts,
icons, an empty plugin directory), for the demo.

usage: gen_tree.py OUT [--files N] [--seed S]
       gen_tree.py OUT --mutate N [--seed S]   # rewrite N files in place
"""
import argparse
import os
import random


def blob(rng, size):
    chunk = bytes(rng.getrandbits(8) for _ in range(min(size, 8192)))
    return (chunk * (size // max(len(chunk), 1) + 1))[:size]


def generate(out, files, seed):
    rng = random.Random(seed)
    for d in ("bin", "lib", "python/dcc", "python/dcc/ui", "icons", "plugins", "share/doc"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    with open(os.path.join(out, "bin", "dcc"), "w") as f:
        # its own plugins/ directory unless $DCC_PLUGIN_PATH names others
        f.write("#!/bin/sh\nhere=$(cd \"$(dirname \"$0\")/..\" && pwd)\n"
                "echo \"DCC 2024.2 starting with plugins from ${DCC_PLUGIN_PATH:-$here/plugins}\"\n")
    os.chmod(os.path.join(out, "bin", "dcc"), 0o755)
    for i in range(4):
        name = "libdcc%d.so.2024.2" % i
        with open(os.path.join(out, "lib", name), "wb") as f:
            f.write(blob(rng, rng.randint(400_000, 1_500_000)))
        os.symlink(name, os.path.join(out, "lib", "libdcc%d.so" % i))
    license_text = b"Demo licence text. " * 200
    for i in range(files):
        kind = rng.random()
        if kind < 0.5:
            p = os.path.join(out, "python/dcc" if i % 3 else "python/dcc/ui", "mod_%04d.py" % i)
            data = ("# module %d\n" % i + "def f%d(x):\n    return x * %d\n" % (i, i) * rng.randint(5, 60)).encode()
        elif kind < 0.8:
            p = os.path.join(out, "icons", "icon_%04d.png" % i)
            data = blob(rng, rng.randint(200, 6000))
        elif kind < 0.9:
            p = os.path.join(out, "share/doc", "LICENSE_%04d.txt" % i)
            data = license_text  # the same bytes many times: stored once
        else:
            p = os.path.join(out, "share", "data_%04d.bin" % i)
            data = blob(rng, rng.randint(10_000, 80_000))
        with open(p, "wb") as f:
            f.write(data)


def mutate(out, count, seed):
    rng = random.Random(seed)
    paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs
                   if not os.path.islink(os.path.join(d, f)))
    for p in rng.sample(paths, min(count, len(paths))):
        tmp = p + ".new"
        with open(p, "rb") as f:
            data = f.read()
        with open(tmp, "wb") as f:
            f.write(data + b"\n# patched\n")
        os.chmod(tmp, os.stat(p).st_mode & 0o777)
        os.replace(tmp, p)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mutate", type=int)
    a = ap.parse_args()
    if a.mutate is not None:
        mutate(a.out, a.mutate, a.seed)
    else:
        generate(a.out, a.files, a.seed)
