"""The embedded Redis is started once per instance, even when several processes start at the same moment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

START = """
import sys, time
from pathlib import Path
from hub.queue import embedded_socket
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
print(embedded_socket(sys.argv[1]), flush=True)
time.sleep(float(sys.argv[3]))
"""


def _servers(inst: Path) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["name", "cmdline", "cwd"]):
        try:
            if "redis" in (p.info["name"] or "") and str(inst) in " ".join(p.info["cmdline"] or []) + (p.info["cwd"] or ""):
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


def test_processes_starting_at_once_share_one_embedded_redis(tmp_path):
    inst = tmp_path / "instance"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [subprocess.Popen([sys.executable, "-c", START, str(inst), str(go), "4"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    time.sleep(1.5)  # every process imported and waits for the start signal
    go.touch()
    try:
        sockets = {p.stdout.readline().strip() for p in procs}  # type: ignore[union-attr]
        servers = _servers(inst)
        assert len(sockets) == 1 and "" not in sockets, sockets
        assert len(servers) == 1, [s.info for s in servers]
    finally:
        for p in procs:
            p.wait(timeout=30)
        for s in _servers(inst):
            s.kill()
