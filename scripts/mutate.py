#!/usr/bin/env python3
"""Mutation testing of the differential test: applies each mutant of tests/mutants/mutants.ini
to a private copy of the source (a git worktree of HEAD), builds it, runs the example tests
and the random differential test's first seeds, and reports which mutants survive.

Usage: scripts/mutate.sh [--seeds N] [--only NAME[,NAME...]] [--keep]

A mutant is killed when a test fails with it; it survives when every test passes (a gap in
the tests, unless the mutant is equivalent). The working tree is never touched.
"""
import argparse
import configparser
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, cwd, log, timeout=None):
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        try:
            return subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            f.write("(timed out)\n")
            return 124


def main():
    ap = argparse.ArgumentParser(description="Mutation testing of vmspace's tests.")
    ap.add_argument("--seeds", type=int, default=60, help="difftest sequences (default 60)")
    ap.add_argument("--only", default="", help="comma-separated mutant names")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--mutants", default=os.path.join(ROOT, "tests/mutants/mutants.ini"))
    args = ap.parse_args()

    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(args.mutants)
    names = [n for n in cp.sections() if not args.only or n in args.only.split(",")]
    if not names:
        print("mutate: no mutants selected", file=sys.stderr)
        return 2

    work = tempfile.mkdtemp(prefix="vmspace-mutate-")
    # The differential test's unprivileged oracle runs as nobody: it must reach its binary.
    os.chmod(work, 0o755)
    tree = os.path.join(work, "src")
    build = os.path.join(work, "build")
    log = os.path.join(work, "log.txt")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", tree, "HEAD"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # A plain optimised build (no -Werror: a mutant may well draw a warning).
        if run(["cmake", "-S", tree, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                "-DVMSPACE_BENCH=OFF"], tree, log) != 0:
            print("mutate: cannot configure; see " + log, file=sys.stderr)
            return 2
        targets = ["vmspace_cli", "vmspace-difftest", "vmspace_oracle"]
        if run(["cmake", "--build", build, "--target"] + targets, tree, log) != 0:
            print("mutate: the unmutated tree does not build; see " + log, file=sys.stderr)
            return 2
        difftest = os.path.join(build, "tests", "vmspace-difftest")

        def tests_pass():
            # The example scripts (run, and against the kernel), then the random sequences
            # in two shards side by side.
            if run(["ctest", "--test-dir", build, "-j2", "-R",
                    "^(example|difftest\\.example)\\."], tree, log, timeout=900) != 0:
                return False
            procs = []
            for k in range(2):
                f = open(log, "a")
                procs.append((subprocess.Popen(
                    [difftest, "--seed", "1", "--sequences", str(args.seeds), "--shard",
                     "%d/2" % k, "--ops", "250"], stdout=f, stderr=subprocess.STDOUT), f))
            ok = True
            for p, f in procs:
                ok &= p.wait(timeout=1800) == 0
                f.close()
            return ok

        if not tests_pass():
            print("mutate: the tests fail without a mutant; see " + log, file=sys.stderr)
            return 2

        killed, survived, broken = [], [], []
        for name in names:
            m = cp[name]
            path = os.path.join(tree, m["file"])
            src = open(path).read()
            frm = m["from"].replace("\\n", "\n")
            to = m["to"].replace("\\n", "\n")
            if src.count(frm) != 1:
                print("mutate: %s: `from` occurs %d times in %s" % (name, src.count(frm),
                                                                 m["file"]), file=sys.stderr)
                broken.append(name)
                continue
            open(path, "w").write(src.replace(frm, to))
            t0 = time.time()
            with open(log, "a") as f:
                f.write("\n=== mutant %s\n" % name)
            if run(["cmake", "--build", build, "--target"] + targets, tree, log) != 0:
                verdict = "does not build"
                broken.append(name)
            elif tests_pass():
                verdict = "SURVIVED"
                survived.append(name)
            else:
                verdict = "killed"
                killed.append(name)
            open(path, "w").write(src)
            print("%-28s %-15s %5.0f s  %s" % (name, verdict, time.time() - t0, m.get("why", "")),
                  flush=True)
        # Rebuild the original so that the work tree is consistent if kept.
        run(["cmake", "--build", build, "--target"] + targets, tree, log)
        total = len(killed) + len(survived)
        print("mutate: %d of %d mutants killed (%.0f%%), %d survived%s%s" %
              (len(killed), total, 100.0 * len(killed) / total if total else 0, len(survived),
               (": " + ", ".join(survived)) if survived else "",
               (", %d not applicable" % len(broken)) if broken else ""))
        return 1 if survived or broken else 0
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if args.keep:
            print("mutate: log in " + log)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
