"""Turns bench/run.sh's results (METRIC<TAB>VALUE lines, one per run) into medians, ratios
and the PASS/MISS lines of kplay's performance targets, as Markdown.

usage: table.py RESULTS SMALL LARGE
"""

import statistics
import sys
from collections import defaultdict


def load(path):
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            name, _, value = line.rstrip("\n").partition("\t")
            if value:
                runs[name].append(float(value))
    return runs


class Results:
    def __init__(self, runs):
        self.runs = runs

    def med(self, name):
        v = self.runs.get(name)
        return statistics.median(v) if v else None

    def n(self, name):
        return len(self.runs.get(name, []))

    def max(self, name):
        v = self.runs.get(name)
        return max(v) if v else None


def fmt(v, unit="", digits=2):
    if v is None:
        return "n/a"
    return f"{v:.{digits}f}{unit}"


def ratio(a, b):
    return a / b if a is not None and b else None


def fourop(r, small, large):
    print("## Four-op playbook (dir, content, template, guarded command)\n")
    print("| hosts | run | kplay | floor (ssh mux) | Ansible | Ansible, cold masters "
          "| Ansible / kplay | kplay / floor | runs (kplay/ans.) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in (small, large):
        for run in ("first", "rerun"):
            k = r.med(f"fourop.n{n}.kplay.{run}")
            fl = r.med(f"fourop.n{n}.floor.{run}")
            a = r.med(f"fourop.n{n}.ansible.{run}")
            cold = r.med(f"fourop.n{n}.ansible.rerun_cold") if run == "rerun" else a
            print(f"| {n} | {run} | {fmt(k, ' s', 3)} | {fmt(fl, ' s', 3)} | {fmt(a, ' s')} "
                  f"| {fmt(cold, ' s')} | {fmt(ratio(a, k), 'x', 1)} | {fmt(ratio(k, fl), 'x')} "
                  f"| {r.n(f'fourop.n{n}.kplay.{run}')}/{r.n(f'fourop.n{n}.ansible.{run}')} |")
    print()
    print("Changed tasks on the re-run (median): kplay "
          f"{fmt(r.med(f'fourop.n{large}.kplay.rerun.changed'), '', 0)}, Ansible "
          f"{fmt(r.med(f'fourop.n{large}.ansible.rerun.changed'), '', 0)}. "
          "Ansible's re-run finds its ControlPersist masters open (its best case); the cold "
          "column closed them first, as every kplay run starts without connections.\n")


def pertask(r):
    k1, k200 = r.med("pertask.kplay.1"), r.med("pertask.kplay.200")
    a200 = r.med("pertask.ansible.200")
    exec_ms = r.med("pertask.floor.exec50")
    exec_ms = exec_ms * 1000 / 50 if exec_ms else None
    marginal = (k200 - k1) * 1000 / 199 if k1 and k200 else None
    print("## Per-task overhead (200 `command { argv = [\"true\"] }` tasks, one host)\n")
    print("| | wall | tasks/s | per task |")
    print("|---|---|---|---|")
    print(f"| kplay | {fmt(k200, ' s')} | {fmt(ratio(200, k200), '', 0)} "
          f"| {fmt(marginal, ' ms')} (marginal: (t200 - t1) / 199) |")
    print(f"| Ansible | {fmt(a200, ' s')} | {fmt(ratio(200, a200), '', 1)} "
          f"| {fmt(a200 * 1000 / 200 if a200 else None, ' ms', 0)} |")
    print(f"| one `ssh` exec over an open master | | | {fmt(exec_ms, ' ms')} |")
    print()
    print("### Round trips per task\n")
    print("Remote commands per task, counted on the node: `strace -f -e trace=execve` on n1's "
          "sshd during a run of 11 tasks and of 1 task of each kind; each SSH exec channel "
          "makes sshd start root's shell with `-c`, and the SFTP subsystem is started the "
          "same way. Per task = (count(11) - count(1)) / 10. A channel itself costs "
          "about two network round trips (open, exec request) before the command runs.\n")
    print("| task kind (state) | remote commands per task | 1 task | 11 tasks |")
    print("|---|---|---|---|")
    for kind, what in (("command", "command (runs)"), ("file", "file (no-op)"),
                       ("copy", "copy content (no-op)"), ("template", "template (no-op)"),
                       ("copy-changed", "copy content (changed)")):
        print(f"| {what} | {fmt(r.med(f'rt.{kind}'), '', 1)} | {fmt(r.med(f'rt.{kind}.k1'), '', 0)} "
              f"| {fmt(r.med(f'rt.{kind}.k11'), '', 0)} |")
    print()


def dist(r):
    per_host, hosts = r.med("dist.bytes_per_host"), r.med("dist.hosts")
    total_mb = per_host * hosts / 1e6 if per_host and hosts else None
    k, s, rr = r.med("dist.kplay.first"), r.med("dist.scp"), r.med("dist.kplay.rerun")
    print(f"## Artifact distribution ({fmt(per_host / 1e6 if per_host else None, ' MB', 0)} "
          f"to each of {fmt(hosts, '', 0)} hosts, {fmt(total_mb, ' MB', 0)} in all)\n")
    print("| | wall | MB/s | vs scp | bytes sent |")
    print("|---|---|---|---|---|")
    print(f"| parallel scp | {fmt(s, ' s')} | {fmt(ratio(total_mb, s), '', 0)} | 1.00x | |")
    print(f"| kplay first run | {fmt(k, ' s')} | {fmt(ratio(total_mb, k), '', 0)} "
          f"| {fmt(ratio(s, k), 'x')} | {fmt(r.med('dist.kplay.first.bytes'), '', 0)} |")
    print(f"| kplay re-run | {fmt(rr, ' s')} | | | {fmt(r.max('dist.kplay.rerun.bytes'), '', 0)} (max) |")
    print()


def site(r):
    print("## Whole site (site.hcl on the 3-node lab)\n")
    print("| run | wall | changed | peak RSS | runs |")
    print("|---|---|---|---|---|")
    for run, what in (("first", "first deploy (fresh lab, stage cached)"), ("rerun", "no-op re-run")):
        print(f"| {what} | {fmt(r.med(f'site.{run}'), ' s')} "
              f"| {fmt(r.med(f'site.{run}.changed'), '', 0)} "
              f"| {fmt(r.med(f'site.{run}.rss_mb'), ' MB', 1)} | {r.n(f'site.{run}')} |")
    print()


def memory(r, small, large):
    print("## Memory (peak RSS, /usr/bin/time -v)\n")
    print("| case | first run | re-run |")
    print("|---|---|---|")
    for n in (small, large):
        print(f"| four-op, {n} hosts | {fmt(r.med(f'fourop.n{n}.kplay.first.rss_mb'), ' MB', 1)} "
              f"| {fmt(r.med(f'fourop.n{n}.kplay.rerun.rss_mb'), ' MB', 1)} |")
    print(f"| distribution, 3 hosts | {fmt(r.med('dist.kplay.first.rss_mb'), ' MB', 1)} "
          f"| {fmt(r.med('dist.kplay.rerun.rss_mb'), ' MB', 1)} |")
    print()


def verdict(ok):
    return "n/a " if ok is None else ("PASS" if ok else "MISS")


def targets(r, small, large):
    k = r.med(f"fourop.n{large}.kplay.rerun")
    a = r.med(f"fourop.n{large}.ansible.rerun")
    fl = r.med(f"fourop.n{large}.floor.rerun")
    rts = [r.med(f"rt.{x}") for x in ("command", "file", "copy", "template")]
    rts = [x for x in rts if x is not None]
    worst_rt = max(rts) if rts else None
    dist_ratio = ratio(r.med("dist.scp"), r.med("dist.kplay.first"))
    rerun_bytes = r.max("dist.kplay.rerun.bytes")
    site_rerun = r.med("site.rerun")
    scale_first = ratio(r.med(f"fourop.n{large}.kplay.first"), r.med(f"fourop.n{small}.kplay.first"))
    scale_rerun = ratio(k, r.med(f"fourop.n{small}.kplay.rerun"))
    floor_scale = ratio(fl, r.med(f"fourop.n{small}.floor.rerun"))
    ans_scale = ratio(a, r.med(f"fourop.n{small}.ansible.rerun"))
    rss = [r.med(f"fourop.n{large}.kplay.{x}.rss_mb") for x in ("first", "rerun")]
    rss = max([x for x in rss if x is not None], default=None)

    def cmp(v, op, bound):
        if v is None:
            return None
        return v >= bound if op == ">=" else (v <= bound if op == "<=" else v < bound)

    rows = [
        (f"four-op re-run, {large} hosts: Ansible / kplay >= 15x", fmt(ratio(a, k), "x", 1),
         cmp(ratio(a, k), ">=", 15)),
        (f"four-op re-run, {large} hosts: kplay / floor <= 1.5x", fmt(ratio(k, fl), "x"),
         cmp(ratio(k, fl), "<=", 1.5)),
        ("remote commands per simple no-op task <= 2", fmt(worst_rt, " (worst kind)", 1),
         cmp(worst_rt, "<=", 2)),
        ("distribution: kplay >= 0.8x scp throughput", fmt(dist_ratio, "x"),
         cmp(dist_ratio, ">=", 0.8)),
        ("distribution re-run sends 0 bytes", fmt(rerun_bytes, " bytes", 0),
         None if rerun_bytes is None else rerun_bytes == 0),
        ("whole-site re-run on 3 nodes < 5 s", fmt(site_rerun, " s"), cmp(site_rerun, "<", 5)),
        (f"four-op first run, {small} -> {large} hosts < 2x", fmt(scale_first, "x"),
         cmp(scale_first, "<", 2)),
        (f"four-op re-run, {small} -> {large} hosts < 2x",
         f"{fmt(scale_rerun, 'x')} (floor {fmt(floor_scale, 'x')}, Ansible {fmt(ans_scale, 'x')})",
         cmp(scale_rerun, "<", 2)),
        (f"peak RSS, four-op on {large} hosts < 100 MB", fmt(rss, " MB", 1), cmp(rss, "<", 100)),
    ]
    print("## Targets\n")
    print("| | target | measured |")
    print("|---|---|---|")
    for name, measured, ok in rows:
        print(f"| {verdict(ok)} | {name} | {measured} |")
    print()


def main():
    path, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    r = Results(load(path))
    print("Medians of the runs; ratios are of medians.\n")
    targets(r, small, large)
    fourop(r, small, large)
    pertask(r)
    dist(r)
    site(r)
    memory(r, small, large)


if __name__ == "__main__":
    main()
