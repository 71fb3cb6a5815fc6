"""Where a vote's time goes on the server: CPU per vote, and a py-spy profile (issue #11).

    .venv/bin/python bench/profile_votes.py [--households 3000] [--duration 8] [--connections 16]
                                            [--profile var/votes.raw]

Seeds the vote benchmark's hall (bench/vote.py), serves the app with one uvicorn worker
(bench/serve.py) and runs wrk with bench/vote.lua twice: the first run under `py-spy record`
(PyPI package py-spy; raw folded stacks written to --profile), the second measured by the
server process's CPU time from /proc (user + system). Prints both runs' rates and the CPU
milliseconds per acknowledged vote; docs/benchmarks.md ("Findings after #11") splits the
profile by part.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import Database  # noqa: E402
from bench import serve as bs  # noqa: E402
from bench import vote as bv  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    found = subprocess.run(["pgrep", "-f", f"port {port}"], capture_output=True, text=True)
    return int(found.stdout.split()[0])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--profile", default="var/votes.raw")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    tmp = Path(tempfile.mkdtemp(prefix="yst-profile-"))
    url = f"sqlite:///{tmp / 'votes.db'}"
    hall_id, ballot_id = bv.seed(url, args.households)
    db = Database.connect(url)
    bv.log_in_all(db, Settings(database_url=url, secret_key=bs.SECRET), bv.voters_of(db), tmp / "c")
    db.dispose()
    path = f"/api/v1/halls/{hall_id}/ballots/{ballot_id}/votes"
    load = argparse.Namespace(duration=args.duration, connections=args.connections, threads=1)
    with bs.serve(bs.APP, env={"DATABASE_URL": url}) as bases:
        pid = server_pid(bases[0])
        Path(args.profile).parent.mkdir(parents=True, exist_ok=True)
        record = [spy, "record", "-p", str(pid), "-d", str(max(1, args.duration - 2))]
        record += ["-f", "raw", "-o", args.profile, "--nonblocking"]
        recorder = subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first, _ = bv.load_votes(bases, path, tmp / "c", tmp / "out", load, form=False, run=1)
        recorder.wait()
        before = cpu_seconds(pid)
        second, _ = bv.load_votes(bases, path, tmp / "c", tmp / "out", load, form=False, run=2)
        used = cpu_seconds(pid) - before
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"profiled run: {first.rps:,.0f} votes/s; stacks in {args.profile}")
    print(
        f"measured run: {second.rps:,.0f} votes/s, server CPU {used:.2f} s for "
        f"{second.requests:,} votes = {1000 * used / second.requests:.2f} ms per vote"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
