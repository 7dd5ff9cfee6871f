"""A real one-node SLURM cluster for tests: munge + slurmctld + slurmd started here, stopped after."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

CONF = """ClusterName=dnalm
SlurmctldHost={host}
AuthType=auth/munge
AuthInfo=socket={socket}
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/slurmctld.log
SlurmdLogFile={base}/slurmd.log
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
NodeName={host} CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


class Slurm:
    """Start with `Slurm.start(dir)`; returns None (with `why`) where SLURM cannot run here."""

    why = ""

    def __init__(self, base: Path, env: dict[str, str], procs: list[subprocess.Popen]):
        self.base, self.env, self.procs = base, env, procs

    @classmethod
    def start(cls, base: Path) -> "Slurm | None":
        missing = [t for t in ("munged", "slurmctld", "slurmd", "sbatch", "srun") if not shutil.which(t)]
        if missing:
            cls.why = f"SLURM not installed ({', '.join(missing)} missing; scripts/test.sh installs it)"
            return None
        if os.geteuid() != 0:
            cls.why = "SLURM test daemons need root"
            return None
        host = socket.gethostname()
        for d in ("state", "spool", "munge"):
            (base / d).mkdir(parents=True, exist_ok=True)
        key = base / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        socket_path = base / "munge" / "munge.socket"
        conf = base / "slurm.conf"
        conf.write_text(CONF.format(host=host, base=base, socket=socket_path, ctld_port=_free_port(),
                                    d_port=_free_port()))
        env = {**os.environ, "SLURM_CONF": str(conf)}
        procs = [subprocess.Popen(["munged", "--foreground", "--force", f"--key-file={key}",
                                   f"--socket={socket_path}", f"--pid-file={base / 'munge' / 'munged.pid'}",
                                   f"--log-file={base / 'munge' / 'munged.log'}",
                                   f"--seed-file={base / 'munge' / 'munged.seed'}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        time.sleep(0.5)
        for daemon in ("slurmctld", "slurmd"):
            procs.append(subprocess.Popen([daemon, "-D", "-f", str(conf)], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        cluster = cls(base, env, procs)
        deadline = time.time() + 60
        while time.time() < deadline:
            probe = subprocess.run(["srun", "-n2", "hostname"], env=env, capture_output=True, text=True, timeout=30)
            if probe.returncode == 0 and probe.stdout.count(host) == 2:
                return cluster
            time.sleep(1)
        cluster.stop()
        logs = "".join(p.read_text()[-400:] for p in base.glob("*.log") if p.is_file())
        cls.why = f"SLURM did not start: {probe.stderr.strip()[-300:]} {logs[-300:]}"
        return None

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
