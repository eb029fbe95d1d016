"""The original Python service's write of one dataset, timed: its DataCache keeps a DataFrame as `<key>.csv`
(DataFrame.to_csv, no index) and then `<key>_meta.json`. Reads the CSV given (untimed) into the frame the service
held (timestamp parsed), then writes it `runs` times to a temporary folder; prints the median seconds."""
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone

import pandas as pd

csv_path, runs = sys.argv[1], int(sys.argv[2])
frame = pd.read_csv(csv_path, parse_dates=["timestamp"])
times = []
with tempfile.TemporaryDirectory() as folder:
    for run in range(runs):
        started = time.perf_counter()
        frame.to_csv(os.path.join(folder, f"{run}.csv"), index=False)
        meta = {"rows": len(frame), "cached_at": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds")}
        with open(os.path.join(folder, f"{run}_meta.json"), "w") as out:
            json.dump(meta, out)
        times.append(time.perf_counter() - started)
print(json.dumps({"rows": len(frame), "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}))
