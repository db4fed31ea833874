"""Runs commands for the real-Blender layer inside the box (the Debian root, or this machine).

Started once per test session by ``box.Box``; reads one JSON request per line on stdin and
answers one JSON line on stdout. Standard library only: inside the Debian root it runs on the
root's own Python (the one Debian's Blender uses).

    {"op": "run", "argv": [...], "env": {...}, "timeout": s}  -> {"rc", "out", "err"}
    {"op": "spawn", "argv": [...], "env": {...}, "log": path} -> {"pid"}
    {"op": "poll", "pid": n}                                  -> {"rc": None | int}
    {"op": "kill", "pid": n, "sig": 15}                       -> {"ok"}

Spawned programs get a process group of their own, so a kill ends what they started too (a
Blender's render process and model worker). When stdin closes every group still alive is
killed: a test session that dies leaves nothing behind in the box.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

_spawned: dict[int, subprocess.Popen] = {}
# Inside the Debian root nothing of this machine's environment is passed on (its SSL_CERT_FILE,
# say, names a file the root does not have): a user's session there starts from this.
CLEAN_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}
_BASE = dict(CLEAN_ENV) if "--clean-env" in sys.argv else dict(os.environ)


def _env(extra: dict | None) -> dict:
    env = dict(_BASE)
    env.update(extra or {})
    return env


def _run(req: dict) -> dict:
    try:
        done = subprocess.run(
            req["argv"],
            env=_env(req.get("env")),
            cwd=req.get("cwd"),
            capture_output=True,
            timeout=req.get("timeout") or 60,
            input=(req.get("stdin") or "").encode(),
        )
    except subprocess.TimeoutExpired as e:
        return {"rc": None, "out": (e.stdout or b"").decode(errors="replace"), "err": "timeout"}
    except OSError as e:
        return {"rc": 127, "out": "", "err": str(e)}
    return {
        "rc": done.returncode,
        "out": done.stdout.decode(errors="replace"),
        "err": done.stderr.decode(errors="replace"),
    }


def _spawn(req: dict) -> dict:
    log = open(req["log"], "ab") if req.get("log") else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(
            req["argv"],
            env=_env(req.get("env")),
            cwd=req.get("cwd"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as e:
        return {"pid": None, "error": str(e)}
    finally:
        if log is not subprocess.DEVNULL:
            log.close()
    _spawned[proc.pid] = proc
    return {"pid": proc.pid}


def _poll(req: dict) -> dict:
    proc = _spawned.get(req["pid"])
    return {"rc": None if proc is None else proc.poll()}


def _kill(req: dict) -> dict:
    proc = _spawned.get(req["pid"])
    if proc is None:
        return {"ok": False}
    try:
        os.killpg(proc.pid, req.get("sig", signal.SIGTERM))
    except ProcessLookupError:
        pass
    return {"ok": True}


def _kill_all() -> None:
    for proc in _spawned.values():
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


OPS = {"run": _run, "spawn": _spawn, "poll": _poll, "kill": _kill}


def main() -> None:
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    try:
        for line in sys.stdin:
            req = json.loads(line)
            try:
                reply = OPS[req["op"]](req)
            except Exception as e:  # a bad request must not end the session
                reply = {"error": f"{type(e).__name__}: {e}"}
            out.write(json.dumps(reply) + "\n")
            out.flush()
    finally:
        _kill_all()


if __name__ == "__main__":
    main()
