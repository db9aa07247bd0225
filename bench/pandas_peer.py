"""The peer a data team would write first: read each section of a NAV export with pandas and melt it to long format.

Prints {"records": N, "seconds": [..]} for the runs asked for. Handles the tab layout only (the cut-off tail in the
one-cell-per-line layout is skipped, as a quick script would).

`pandas_peer.py --ndjson FILE` is the whole-process peer of `navlake parse FILE`: it writes the long rows to stdout as
NDJSON (to_json, lines=True) and exits, so start-up, import and output count as they do for navlake.
"""
import io
import json
import sys
import time

import pandas as pd


def parse(text: str, frames: list | None = None) -> int:
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
            if frames is not None:
                frames.append(long)
            continue
        elif line.strip():
            heading.append(line.strip())
        i += 1
    return records


def whole(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        frames: list = []
        parse(f.read(), frames)
    pd.concat(frames, ignore_index=True).to_json(sys.stdout, orient="records", lines=True, force_ascii=False)


def main() -> None:
    if sys.argv[1] == "--ndjson":
        whole(sys.argv[2])
        return
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
