"""Where the real-Blender layer gets its Blender, X server and input tools: the box.

Two kinds, chosen in this order:

1. ``BLENDER=/path/to/blender`` (a developer's official build): Blender runs on this machine;
   ``Xvfb``, ``xdotool`` and ``import`` (ImageMagick) must be on PATH.
2. A Debian 13 root (Debian 13 packages Blender 4.3.2; Debian 12, these machines, has 3.4):
   made once with ``debootstrap --variant=minbase trixie`` from the machine's own Debian mirror
   and ``apt-get install --no-install-recommends blender xvfb xdotool imagemagick
   libgl1-mesa-dri python3-numpy`` inside, kept outside the clone (``$VIGA_GUI_ROOT``, default
   ``~/.cache/viga/debian13-blender``) so later runs reuse it. Every command runs chrooted in a
   private mount namespace (``unshare --mount``) with ``/dev``, ``/proc``, ``/tmp`` and the
   clone bound at their own paths: nothing stays mounted on this machine after the session.

``python tests/gui/box.py --ensure`` makes the root (as root; about two minutes), or says why it
cannot. Without either kind, the layer is skipped and says why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("box_runner.py")
DEFAULT_ROOT = Path.home() / ".cache" / "viga" / "debian13-blender"
PACKAGES = ("blender", "xvfb", "xdotool", "imagemagick", "libgl1-mesa-dri", "python3-numpy")
READY_STAMP = ".viga-gui-ready"
HOST_TOOLS = ("Xvfb", "xdotool", "import")


class BoxUnavailable(RuntimeError):
    """No Blender for the layer here; the message says why and what would give one."""


def root_dir() -> Path:
    return Path(os.environ.get("VIGA_GUI_ROOT") or DEFAULT_ROOT)


def _stamp_text() -> str:
    return "trixie " + " ".join(PACKAGES)


def root_ready(root: Path) -> bool:
    stamp = root / READY_STAMP
    return stamp.is_file() and stamp.read_text().strip() == _stamp_text()


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (the registry CI can reach)."""
    for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")):
        for line in path.read_text(errors="replace").splitlines():
            m = re.match(r"URIs:\s*(\S+)", line)
            if m and "security" not in m.group(1):
                return m.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text(errors="replace").splitlines():
            m = re.match(r"deb\s+(?:\[[^\]]*\]\s+)?(\S+)", line)
            if m and "security" not in m.group(1):
                return m.group(1)
    return "http://deb.debian.org/debian"


def namespace_prefix(root: Path, binds: list[Path]) -> list[str]:
    """A command prefix that runs its argv chrooted in ``root`` inside a private mount
    namespace, with /dev, /proc and ``binds`` (host paths, bound at the same path)."""
    script = [
        "set -e",
        f'mount --rbind /dev "{root}/dev"',
        f'mount --rbind /proc "{root}/proc"',
    ]
    for path in binds:
        script.append(f'mkdir -p "{root}{path}"')
        script.append(f'mount --rbind "{path}" "{root}{path}"')
    script.append(f'exec chroot "{root}" "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script), "sh"]


def make_root(root: Path, log=print) -> None:
    """Debootstrap the Debian 13 root and install Blender and the X tools in it."""
    if os.geteuid() != 0:
        raise BoxUnavailable(
            f"making the Debian 13 root at {root} needs root (debootstrap, chroot); run "
            "./dev gui as root once, or set BLENDER=/path/to/blender"
        )
    if shutil.which("debootstrap") is None:
        if shutil.which("apt-get") is None:
            raise BoxUnavailable("debootstrap is not installed and there is no apt-get")
        log("installing debootstrap on this machine (apt-get)")
        _check(["apt-get", "install", "-y", "-q", "debootstrap"], "apt-get install debootstrap")
    mirror = debian_mirror()
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    log(f"debootstrap --variant=minbase trixie {root} {mirror}")
    _check(
        ["debootstrap", "--variant=minbase", "trixie", str(root), mirror],
        "debootstrap (is the Debian mirror reachable?)",
    )
    log("apt-get install " + " ".join(PACKAGES) + " (in the root)")
    install = (
        "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
        "--no-install-recommends " + " ".join(PACKAGES)
    )
    _check([*namespace_prefix(root, []), "sh", "-c", install], "apt-get install in the root")
    (root / READY_STAMP).write_text(_stamp_text() + "\n")


def _check(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise BoxUnavailable(f"{what} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


@dataclass
class BoxSpec:
    kind: str  # "root" | "host"
    blender: str  # the binary, as a path inside the box
    root: Path | None = None

    def describe(self) -> str:
        if self.kind == "root":
            return f"Debian 13 root {self.root} ({self.blender})"
        return f"BLENDER={self.blender} on this machine"


def find_box(make: bool = False, log=print) -> BoxSpec:
    """The box to use; ``make``: build the Debian root when it is missing."""
    env_blender = os.environ.get("BLENDER")
    if env_blender:
        if not Path(env_blender).is_file():
            raise BoxUnavailable(f"BLENDER={env_blender} is not a file")
        missing = [t for t in HOST_TOOLS if shutil.which(t) is None]
        if missing:
            raise BoxUnavailable(
                f"BLENDER is set but {', '.join(missing)} not on PATH (Debian: apt-get install "
                "xvfb xdotool imagemagick)"
            )
        return BoxSpec("host", env_blender)
    root = root_dir()
    if not root_ready(root):
        if not make:
            raise BoxUnavailable(
                f"no Blender for the real-window layer: set BLENDER=/path/to/blender (4.2 or "
                f"newer, with Xvfb, xdotool and ImageMagick on PATH), or make the Debian 13 root "
                f"at {root} with `python tests/gui/box.py --ensure` (as root)"
            )
        make_root(root, log)
    return BoxSpec("root", "/usr/bin/blender", root)


class Box:
    """A started box: one runner process that runs and spawns commands inside it."""

    def __init__(self, spec: BoxSpec):
        self.spec = spec
        if spec.kind == "root":
            binds = [Path("/tmp"), REPO]
            argv = [
                *namespace_prefix(spec.root, binds),
                "python3",
                "-u",
                str(RUNNER),
                "--clean-env",
            ]
        else:
            argv = [sys.executable, "-u", str(RUNNER)]
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        hello = self._proc.stdout.readline()
        if not hello.strip():
            raise BoxUnavailable(f"the box runner did not start ({argv[:6]}…)")

    def _ask(self, req: dict) -> dict:
        with self._lock:
            self._proc.stdin.write(json.dumps(req) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the box runner has gone")
        reply = json.loads(line)
        if "error" in reply and reply.get("pid", 0) is not None:
            raise RuntimeError(f"box runner: {reply['error']}")
        return reply

    def run(self, argv, env=None, timeout=60, stdin="", cwd=None) -> dict:
        return self._ask(
            {
                "op": "run",
                "argv": list(argv),
                "env": env,
                "timeout": timeout,
                "stdin": stdin,
                "cwd": cwd,
            }
        )

    def spawn(self, argv, env=None, log=None, cwd=None) -> int:
        reply = self._ask({"op": "spawn", "argv": list(argv), "env": env, "log": log, "cwd": cwd})
        if reply.get("pid") is None:
            raise RuntimeError(f"could not start {argv[0]}: {reply.get('error')}")
        return reply["pid"]

    def poll(self, pid: int) -> int | None:
        return self._ask({"op": "poll", "pid": pid})["rc"]

    def kill(self, pid: int, sig: int = 15) -> None:
        self._ask({"op": "kill", "pid": pid, "sig": sig})

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--ensure"]:
        try:
            spec = find_box(make=True, log=lambda m: print(f"gui box: {m}", flush=True))
        except BoxUnavailable as e:
            print(f"gui box: skipped: {e}", file=sys.stderr)
            return 3
        print(f"gui box: {spec.describe()}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
