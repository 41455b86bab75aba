"""Crash recovery: ``kill -9`` of `mimir ingest`, `mimir serve` and `mimir eval` at several stages.

Each part first runs the work once, undisturbed, as the reference. Then, on fresh copies, it kills
the process with SIGKILL at each stage, runs the work again (``--resume`` for evals, a restart and
the same question for the server), and compares the result with the reference:

- ingest (``--copy`` of a demo set): killed before the first commit and once 25, 50, 75 and 95 % of
  the images are committed; the timeline rows (patient, study, series, content hash) and the stored
  files must be identical.
- serve: killed idle, mid-question (after the first tool result), mid-upload (part of a 4 MB zip
  sent) and right after an answer; after the restart the staging folder is empty, storage holds
  exactly the referenced files, and the same question gives the reference answer.
- eval (demo suite, agent runner): killed once 25, 50 and 75 % of the items are finished, then
  resumed; every item's status, letter and score must equal the reference's.

    python benchmarks/crash_recovery.py [--parts ingest serve eval] [--eval-items 12]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures.app_server import build_demo_timeline, free_port

MIMIR = str(Path(sys.executable).parent / "mimir")
QUESTION = "Looking at the second image versus the first, has the brain tumour progressed?\nA: progressing\nB: stable\nC: improving"


def _env(data: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "MIMIR_DATA_DIR": str(data), **extra}


def _killed_when(cmd: list[str], env: dict[str, str], ready: Callable[[], bool], cwd: Path) -> bool:
    """Start ``cmd``, SIGKILL it as soon as ``ready()`` holds; True if it was still running then."""
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and not ready():
        time.sleep(0.02)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return alive


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as c:
            return int(c.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return 0


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _when_images(db: Path, n: int) -> Callable[[], bool]:
    """True once the database exists (n = 0) or holds at least ``n`` images."""
    return lambda: db.exists() and (n == 0 or _count(db, "SELECT count(*) FROM images") >= n)


def _when_lines(path: Path, n: int) -> Callable[[], bool]:
    """True once ``path`` has at least ``n`` complete lines."""
    return lambda: path.exists() and path.read_bytes().count(b"\n") >= n


# Ingest -----------------------------------------------------------------------------------------

def _timeline(data: Path) -> tuple[list[tuple], list[str]]:
    with sqlite3.connect(data / "mimir.db") as c:
        rows = sorted(c.execute(
            "SELECT p.patient_key, st.study_uid, se.series_uid, i.content_hash FROM images i "
            "JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id "
            "JOIN patients p ON p.id = st.patient_id"))
    stored = sorted(p.name for p in (data / "storage").rglob("*") if p.is_file())
    return rows, stored


def ingest_part(root: Path, points: list[float]) -> None:
    from mimir.demo.build import build_demo
    from mimir.demo.render import BuildOptions
    from mimir.memory.ingest.demo import demo_paths

    demo = root / "demo-src"
    build_demo(demo, 2, 0, 2, BuildOptions())  # DICOM slices and series, NIfTI with sidecars, PNGs
    cmd = [MIMIR, "ingest", *map(str, demo_paths(demo)), "--manifest", str(demo / "manifest.csv"), "--copy", "--json"]
    ref = root / "ingest-ref"
    t_ref = _timed(cmd, _env(ref), root)
    want = _timeline(ref)
    print(f"ingest: reference {len(want[0])} images, {len(want[1])} stored files in {t_ref:.1f} s")
    for frac in points:
        data = root / f"ingest-{int(frac * 100)}"
        db = data / "mimir.db"
        target = max(1, int(frac * len(want[0]))) if frac > 0 else 0
        alive = _killed_when(cmd, _env(data), _when_images(db, target), root)
        kept = _count(db, "SELECT count(*) FROM images")
        _timed(cmd, _env(data), root)
        got = _timeline(data)
        print(f"  kill -9 with {kept} of {len(want[0])} images committed (running: {alive}): "
              f"rows identical={got[0] == want[0]} stored files identical={got[1] == want[1]} ({len(got[1])} files)")


# Serve ------------------------------------------------------------------------------------------

class Server:
    """`mimir serve --no-ui` on a data folder, restartable."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        self.proc = subprocess.Popen([MIMIR, "serve", "--no-ui"], env=_env(self.data, MIMIR_PORT=str(self.port)),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(240):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.5)
        raise RuntimeError("mimir serve did not become healthy")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def ask(self, on_event: Callable[[str], bool] | None = None) -> tuple[str | None, dict]:
        """Ask the progression question about the first patient's first two T1C images; the answer."""
        key = httpx.get(f"{self.url}/api/patients", timeout=120).json()[0]["patient_key"]
        tl = httpx.get(f"{self.url}/api/patients/{key}/timeline", timeout=120).json()
        ids = [im["image_id"] for st in tl["studies"][:2] for im in st["images"]
               if im["sequence"] == "T1C" and im["file_format"] == "dicom"]
        thread, kind = None, ""
        with httpx.stream("POST", f"{self.url}/api/ask", json={"question": QUESTION, "image_ids": ids,
                                                              "patient_id": key}, timeout=600) as r:
            for line in r.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                    thread = data.get("thread_id", thread)
                    if on_event is not None and on_event(kind):
                        return thread, {}
                    if kind == "answer":
                        ans = data["data"].get("answer", data["data"])
                        return thread, {"letter": ans.get("letter"), "text": ans.get("text")}
                    if kind == "error":
                        return thread, {"error": data}
        return thread, {}

    def clean(self) -> tuple[bool, bool]:
        """(staging empty, storage holds exactly the referenced files)."""
        staging = not any((self.data / "staging").iterdir())
        with sqlite3.connect(self.data / "mimir.db") as c:
            refs = {Path(p).name for (p,) in c.execute("SELECT storage_path FROM images")}
        stored = {p.name for p in (self.data / "storage").rglob("*") if p.is_file()}
        return staging, stored <= refs


def _ask_then_kill(server: Server, on_event: Callable[[str], bool] | None = None) -> None:
    """Ask the demo question (until ``on_event`` says stop, if given), then kill the server."""
    server.ask(on_event)
    server.kill()


def _upload_part(server: Server, demo: Path) -> None:
    """Send half of a zip of the demo DICOMs, then wait: the server is killed mid-upload."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in sorted((demo / "dicom").rglob("*.dcm"))[:40]:
            zf.write(f, f.name)
    body = (b'--b\r\nContent-Disposition: form-data; name="files"; filename="s.zip"\r\n\r\n' + buf.getvalue()
            + b"\r\n--b--\r\n")
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"POST /api/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body[: len(body) // 2])
    time.sleep(1.0)
    server.kill()
    sock.close()


def serve_part(root: Path) -> None:
    settings, demo = build_demo_timeline(root / "serve-src", patients=2)
    pristine = root / "serve-pristine"
    shutil.copytree(settings.data_dir, pristine)
    ref_server = Server(settings.data_dir).start()
    _, want = ref_server.ask()
    ref_server.kill()
    print(f"serve: reference answer {want}")
    stages: dict[str, Callable[[Server], None]] = {
        "idle": lambda s: s.kill(),
        "mid-question": lambda s: _ask_then_kill(s, lambda kind: kind == "tool_result"),
        "mid-upload": lambda s: _upload_part(s, demo),
        "after an answer": _ask_then_kill,
    }
    for stage, act in stages.items():
        data = root / f"serve-{stage.replace(' ', '-')}"
        shutil.copytree(pristine, data)
        server = Server(data).start()
        act(server)
        staged = sum(1 for p in (data / "staging").rglob("*") if p.is_file())
        server.start()
        staging, storage = server.clean()
        _, got = server.ask()
        server.kill()
        print(f"  kill -9 {stage} ({staged} staged files left): restarted, staging empty={staging}, "
              f"storage only referenced={storage}, same answer={got == want}" + ("" if got == want else f" (got {got})"))


# Eval -------------------------------------------------------------------------------------------

def _records(run: Path) -> dict[str, tuple]:
    from mimir.evals.run_store import read_records

    return {k: (r.status, r.letter, r.score) for k, r in read_records(run).items()}


def eval_part(root: Path, items: int, points: list[float]) -> None:
    base = ["eval", "--suite", "demo", "--patients", "2", "--limit", str(items), "--concurrency", "2"]
    t_ref = _timed([MIMIR, *base, "--out", str(root / "eval-ref")], _env(root / "eval-ref-data"), root)
    want = _records(root / "eval-ref")
    print(f"eval: reference {len(want)} items in {t_ref:.1f} s")
    for frac in points:
        out, data = root / f"eval-{int(frac * 100)}", root / f"eval-{int(frac * 100)}-data"
        lines = out / "items.jsonl"
        target = max(1, int(frac * len(want)))
        alive = _killed_when([MIMIR, *base, "--out", str(out)], _env(data), _when_lines(lines, target), root)
        done = len(_records(out)) if lines.exists() else 0
        _timed([MIMIR, *base, "--out", str(out), "--resume"], _env(data), root)
        got = _records(out)
        print(f"  kill -9 with {done} of {len(want)} items finished (running: {alive}): resumed to {len(got)} items, "
              f"identical={got == want}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", nargs="+", default=["ingest", "serve", "eval"])
    ap.add_argument("--eval-items", type=int, default=12)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mimir-crash-"))
    if "ingest" in args.parts:
        ingest_part(root, [0.0, 0.25, 0.5, 0.75, 0.95])
    if "serve" in args.parts:
        serve_part(root)
    if "eval" in args.parts:
        eval_part(root, args.eval_items, [0.25, 0.5, 0.75])
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
