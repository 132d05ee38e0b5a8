#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Print bench/results/latest.json (or FILE) as the Markdown figures
table of BENCHMARKS.md:

    bench/report.py [FILE]
"""
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import driver  # noqa: E402


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else \
        str(pathlib.Path(__file__).resolve().parent / "results" /
            "latest.json")
    doc = json.loads(pathlib.Path(path).read_text())
    m = doc["machine"]
    print(f"Run {doc['date']}, commit `{(doc['commit'] or '?')[:12]}`"
          f"{' (dirty tree)' if doc.get('dirty') else ''}, "
          f"{m['cpus']} x {m['cpu_model']}, {m['mem_mib']} MiB, Linux "
          f"{m['kernel']}, load average {m['loadavg_start']:.1f} at the "
          f"start and {m.get('loadavg_end', 0):.1f} at the end"
          f"{', QUICK' if doc.get('quick') else ''}; {doc['seconds']} s.")
    print()
    print("| # | figure | value | goal | note |")
    print("|---|---|---|---|---|")
    for bid, e in doc["benchmarks"].items():
        for key, f in e["figures"].items():
            v = driver.fmt(f["value"])
            if f["value"] is not None and f["unit"]:
                v += f" {f['unit']}"
            goal = f["goal"] or ""
            if goal and f["meets_goal"] is not None:
                goal += " **met**" if f["meets_goal"] else " **missed**"
            note = (f["note"] or "").replace("|", "\\|")
            print(f"| {bid} | {f['label']} | {v} | {goal} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
