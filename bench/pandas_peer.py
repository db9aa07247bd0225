"""The peer a data team would write first: read each section of a NAV export with pandas and melt it to long format.

Prints {"records": N, "seconds": [..]} for the runs asked for. Handles the tab layout only (the cut-off tail in the
one-cell-per-line layout is skipped, as a quick script would).
"""
import io
import json
import sys
import time

import pandas as pd


def parse(text: str) -> int:
    lines = text.split("\n")
    title = next(line for line in lines if line.strip())
    records = 0
    i = 0
    heading = []
    while i < len(lines):
        line = lines[i]
        if line.strip() == title:
            heading = []
        elif line.startswith("\t"):
            block = [line]
            i += 1
            while i < len(lines) and "\t" in lines[i] and not lines[i].startswith("\t"):
                block.append(lines[i])
                i += 1
            frame = pd.read_csv(io.StringIO("region" + "\n".join(block)), sep="\t", thousands=" ", na_values=["*"],
                                dtype=str)
            long = frame.melt(id_vars=["region"], var_name="month", value_name="value")
            long["value"] = pd.to_numeric(long["value"].str.replace(" ", "", regex=False), errors="coerce")
            long["measure"] = " ".join(heading)
            records += len(long)
            continue
        elif line.strip():
            heading.append(line.strip())
        i += 1
    return records


def main() -> None:
    path, runs = sys.argv[1], int(sys.argv[2])
    with open(path, encoding="utf-8") as f:
        text = f.read()
    seconds = []
    records = 0
    for _ in range(runs):
        started = time.perf_counter()
        records = parse(text)
        seconds.append(time.perf_counter() - started)
    print(json.dumps({"records": records, "seconds": seconds, "pandas": pd.__version__}))


if __name__ == "__main__":
    main()
