# SPDX-License-Identifier: MIT
#
# The end of a broker run started by a Python harness (tests/soak/soak.py,
# tests/oracle/oracle.py): SIGTERM, its exit status, sanitizer reports in
# its log.

import signal
import subprocess


def stop(proc, log_path):
    """Stops proc (a tlsbroker Popen) with SIGTERM; returns the problems:
    a death during the run, an exit status other than 0, no exit within
    30 s, a sanitizer report in log_path."""
    problems = []
    if proc.poll() is not None:
        problems.append("the broker died during the run: exit %s" % proc.returncode)
    else:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(30)
            if rc != 0:
                problems.append("exit status %d after SIGTERM" % rc)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            problems.append("still running 30 s after SIGTERM")
    with open(log_path, errors="replace") as f:
        san = [ln for ln in f if "Sanitizer" in ln or "runtime error" in ln]
    if san:
        problems.append("sanitizer: %s" % san[0].strip())
    return problems
