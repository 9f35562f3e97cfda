"""batchctl against the SDK's own idioms, side by side, over real HTTP.

    .venv/bin/python benchmarks/run.py [--scale 100000] [--reps 3] [--out benchmarks/out]
    .venv/bin/python benchmarks/run.py --scale 1000000          # a million results: batchctl vs curl

It starts `batchctl emulator --processing-seconds 0` in its own process on a free loopback port,
generates a deterministic request file into benchmarks/.work/ (100,000 requests of about 1.2 KB
of text each: ~134 MB), and measures, alternating the two sides on every repetition (A B, B A,
...), each side in a fresh process whose wall time and peak RSS (GNU time's %M) are recorded:

* submit: ``batchctl submit FILE`` vs json.loads on every line + ``messages.batches.create``;
* results -> JSONL: ``batchctl results ID -o f.jsonl`` vs ``for r in results(): f.write(
  r.model_dump_json() + "\\n")``;
* results -> CSV: ``batchctl results ID -o f.csv --order api`` vs the same loop writing
  batchctl's columns, and again without ``--order`` (the default: the request file's order);
* curl fetching the raw results body, as the limit;
* start-up: ``batchctl --help`` and ``batchctl status ID`` (vs the SDK's ``retrieve``).

With ``--scale`` above 100,000 the requests are split into batches of 100,000 (one JOB; the
text shrinks to 200 bytes a request unless ``--text-bytes`` says otherwise, since the results
are what is measured), and only the results download is compared, with curl fetching the same
bodies one after the other.

It prints a markdown table of medians, ratios and targets, writes it to
``OUT/scale-<N>.md``, and rebuilds ``OUT/latest.md`` from every scale measured so far (raw samples
go to ``OUT/raw-<N>.json``). Outputs are checked too: batchctl's JSONL must be the exact bytes curl
received, and its CSV must hold the same rows as the SDK loop's.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
SDK = [PY, str(HERE / "sdk_idioms.py")]
_SCRIPT = Path(PY).parent / "batchctl"
BATCHCTL = [str(_SCRIPT)] if _SCRIPT.exists() else [PY, "-m", "batchctl"]
KEY = "sk-ant-bench-0000-not-a-real-key"
PER_BATCH = 100_000

sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402


# -- processes --------------------------------------------------------------------------------
@dataclass
class Sample:
    wall: float
    rss_mb: float
    cpu: float = 0.0  # user + system seconds: steadier than wall on a machine others load


class Failed(RuntimeError):
    pass


TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
# Without GNU time: a small fresh Python parent that runs the command and reports
# getrusage(RUSAGE_CHILDREN) (its own ~10 MB floor shows for tiny commands such as curl).
_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "open(sys.argv[1], 'w').write(f'{u.ru_maxrss} {u.ru_utime} {u.ru_stime}')\n"
    "sys.exit(rc)\n"
)


def measure(
    cmd: Sequence[str], env: dict[str, str], *, stdout: Path | None = None, cwd: Path | None = None
) -> Sample:
    """Run ``cmd`` in a fresh process; its wall time and its own peak RSS.

    The peak comes from a small parent (GNU time, or a fresh Python) that waits for the command:
    a child forked straight from this harness would count the harness's own memory, which it
    held between fork and exec.
    """
    err_path = WORK / "last-stderr.txt"
    rss_path = WORK / "last-rss.txt"
    rss_path.unlink(missing_ok=True)
    if TIME:
        full = [TIME, "-f", "%M %U %S", "-o", str(rss_path), *cmd]
    else:
        full = [PY, "-c", _LAUNCHER, str(rss_path), *cmd]
    out_f = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    with open(err_path, "wb") as err_f:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, env=env, stdout=out_f, stderr=err_f, cwd=cwd)
        proc.wait()
        wall = time.perf_counter() - t0
    if stdout:
        out_f.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise Failed(f"{' '.join(cmd)} exited {proc.returncode}:\n{tail}")
    kb, user, system = rss_path.read_text().split()[-3:]
    return Sample(wall, int(kb) / 1024, float(user) + float(system))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BATCHCTL_"))}
    env.update(extra)
    return env


def has_command(name: str) -> bool:
    r = subprocess.run([*BATCHCTL, name, "--help"], capture_output=True, env=clean_env())
    return r.returncode == 0


# -- the emulator, in its own process ----------------------------------------------------------
class Emulator:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.how = ""

    def start(self) -> Emulator:
        shutil.rmtree(self.data, ignore_errors=True)
        log = open(WORK / "emulator.log", "wb")  # noqa: SIM115
        if has_command("emulator"):
            cmd = [*BATCHCTL, "emulator", "--port", str(self.port), "--data", str(self.data),
                   "--processing-seconds", "0"]
            self.how = "batchctl emulator"
        else:  # the command has not landed: serve the same app with EmulatorServer
            code = (
                "import sys, threading; from pathlib import Path\n"
                "from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app\n"
                "app = make_app(Path(sys.argv[1]), EmulatorConfig(processing_seconds=0))\n"
                "EmulatorServer(app, '127.0.0.1', int(sys.argv[2])).start()\n"
                "threading.Event().wait()\n"
            )
            cmd = [PY, "-c", code, str(self.data), str(self.port)]
            self.how = "EmulatorServer"
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=clean_env())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failed(f"the emulator exited {self.proc.returncode}; see {WORK/'emulator.log'}")
            try:
                self.call("GET", "/v1/messages/batches?limit=1")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise Failed("the emulator did not answer within 30 s")

    def call(self, method: str, path: str) -> dict:
        url = path if path.startswith("http") else self.base_url + path
        req = urllib.request.Request(
            url, method=method,
            headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
        )
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def batch(self, batch_id: str) -> dict:
        return self.call("GET", f"/v1/messages/batches/{batch_id}")

    def delete(self, batch_id: str) -> None:
        try:
            self.call("DELETE", f"/v1/messages/batches/{batch_id}")
        except urllib.error.HTTPError:
            pass

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- results of one run -----------------------------------------------------------------------
@dataclass
class Row:
    name: str
    ours: list[Sample] = field(default_factory=list)
    theirs: list[Sample] = field(default_factory=list)
    theirs_label: str = "SDK idiom"
    wall_target: float | None = None  # max ratio ours/theirs
    abs_target: float | None = None  # max seconds for ours
    rss_target: float | None = None  # max MB for ours
    note: str = ""

    @staticmethod
    def med(samples: list[Sample], attr: str) -> float | None:
        return statistics.median(getattr(s, attr) for s in samples) if samples else None


def alternate(reps: int, a: Callable[[int], None], b: Callable[[int], None]) -> None:
    """A B, B A, A B, ...: neither side always runs on a warmer machine."""
    for rep in range(reps):
        for fn in (a, b) if rep % 2 == 0 else (b, a):
            fn(rep)


def first_line(path: Path) -> str:
    return path.read_text().splitlines()[0].strip()


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def line_count(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            n += block.count(b"\n")
    return n


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return [rows[0], *sorted(rows[1:])] if rows else []


# -- the benchmarks ---------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.scale: int = args.scale
        self.reps: int = args.reps
        self.rows: list[Row] = []
        self.checks: list[str] = []
        self.problems: list[str] = []
        self.emu = Emulator(WORK / f"emulator-{self.scale}")
        self.text_bytes = args.text_bytes or (1200 if self.scale <= PER_BATCH else 200)
        self.file = SHARED / f"requests-{self.scale}-{self.text_bytes}.jsonl"
        self.results_home = WORK / f"state-results-{self.scale}"
        self.result_ids: list[str] = []
        self.result_ref = ""

    def env(self, home: Path | None = None) -> dict[str, str]:
        extra = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": self.emu.base_url}
        if home is not None:
            extra["BATCHCTL_HOME"] = str(home)
        return clean_env(**extra)

    def log(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def want(self, name: str) -> bool:
        return not self.args.only or name in self.args.only

    # -- setup ----------------------------------------------------------------------------
    def prepare(self) -> None:
        self.load_before = os.getloadavg()[0]
        if not self.file.exists():
            self.log(f"generating {self.file.name} ...")
            generate(self.file, self.scale, self.text_bytes)
        self.size_mb = self.file.stat().st_size / 1e6
        with open(self.file, "rb") as f:  # into the page cache, for both sides alike
            while f.read(1 << 24):
                pass
        self.emu.start()
        self.log(f"emulator ({self.emu.how}) at {self.emu.base_url}")
        # compile .pyc files and warm imports before anything is timed
        subprocess.run([*BATCHCTL, "--help"], capture_output=True, env=self.env())
        subprocess.run([PY, "-c", "import anthropic, csv"], capture_output=True, env=self.env())
        self.has = {c: has_command(c) for c in ("submit", "results", "status")}

    def make_results_batches(self) -> None:
        """The batch(es) every results benchmark downloads, tracked in their own state dir."""
        shutil.rmtree(self.results_home, ignore_errors=True)
        out = WORK / "setup-stdout.txt"
        if self.has["submit"]:
            self.log("setup: batchctl submit --json ...")
            measure([*BATCHCTL, "submit", "--json", str(self.file)],
                    self.env(self.results_home), stdout=out)
            records = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
            self.result_ids = [r.get("id") or r.get("batch_id") for r in records]
            jobs = {r.get("job_id") or r.get("job") for r in records}
            job = jobs.pop() if len(jobs) == 1 else None
            self.result_ref = job if (len(self.result_ids) > 1 and job) else self.result_ids[0]
        else:
            if self.scale > PER_BATCH:
                raise Failed("a JOB of several batches needs `batchctl submit`")
            self.log("setup: SDK create (batchctl submit has not landed) ...")
            measure([*SDK, "submit", str(self.file)], self.env(), stdout=out)
            self.result_ids = [first_line(out)]
            self.result_ref = self.result_ids[0]
        total = 0
        self.result_urls = []
        for bid in self.result_ids:
            b = self.emu.batch(bid)
            if b["processing_status"] != "ended":
                raise Failed(f"{bid} has not ended: {b['processing_status']}")
            total += sum(b["request_counts"].values())
            self.result_urls.append(b["results_url"])
        if total != self.scale:
            raise Failed(f"the results batches hold {total} requests, not {self.scale}")
        # the emulator writes a results file the first time it is asked: not part of any timing
        self.curl_once(WORK / "curl-warm.jsonl")

    def curl_cmd(self) -> list[str]:
        return ["curl", "-sS", "--fail", "-H", f"x-api-key: {KEY}",
                "-H", "anthropic-version: 2023-06-01", *self.result_urls]

    def curl_once(self, out: Path) -> Sample:
        if shutil.which("curl"):
            return measure(self.curl_cmd(), self.env(), stdout=out)
        with open(out, "wb") as f:
            for url in self.result_urls:
                sent = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
                req = urllib.request.Request(url, headers=sent)
                with urllib.request.urlopen(req) as r:
                    shutil.copyfileobj(r, f, 1 << 20)
        return Sample(0.0, 0.0)

    # -- submit -----------------------------------------------------------------------------
    def bench_submit(self) -> None:
        row = Row("submit", wall_target=0.35, rss_target=120,
                  note=f"{self.scale:,} requests, {self.size_mb:.0f} MB")
        self.rows.append(row)
        if not self.has["submit"]:
            row.note += "; batchctl submit has not landed"
        out = WORK / "submit-stdout.txt"

        def check(ids: list[str], who: str) -> None:
            total = 0
            for bid in ids:
                total += sum(self.emu.batch(bid)["request_counts"].values())
                self.emu.delete(bid)  # keeps the emulator's disk and list small
            if total != self.scale:
                self.problems.append(f"submit ({who}) made batches of {total} requests")

        def ours(rep: int) -> None:
            if not self.has["submit"]:
                return
            home = WORK / f"state-submit-{rep}"
            shutil.rmtree(home, ignore_errors=True)
            row.ours.append(measure([*BATCHCTL, "submit", str(self.file)], self.env(home),
                                    stdout=out))
            check(out.read_text().split(), "batchctl")
            self.log(f"  submit batchctl  {row.ours[-1]}")

        def theirs(rep: int) -> None:
            row.theirs.append(measure([*SDK, "submit", str(self.file)], self.env(), stdout=out))
            check(out.read_text().split(), "SDK")
            self.log(f"  submit SDK       {row.theirs[-1]}")

        alternate(self.reps, ours, theirs)

    # -- results ----------------------------------------------------------------------------
    def bench_results(self, fmt: str, order: str = "api") -> None:
        """``order`` "api" is the order the SDK loop writes; "input" (a CSV's default, the request
        file's order) puts the rows in order through an on-disk index first."""
        target = {"jsonl": 0.28, "csv": 0.4}[fmt]
        name = f"results → {fmt.upper()}" + (", input order (the default)" if order == "input" else "")
        row = Row(name, wall_target=target, note=f"{self.scale:,} results")
        self.rows.append(row)
        ours_out = WORK / f"out-batchctl.{fmt}"
        sdk_out = WORK / f"out-sdk.{fmt}"
        if not self.has["results"]:
            row.note += "; batchctl results has not landed"

        def ours(rep: int) -> None:
            if not self.has["results"]:
                return
            ours_out.unlink(missing_ok=True)
            # --order api: the order the SDK loop writes; without it a CSV is in the request
            # file's order (the default), which costs its on-disk index
            how = ["--order", "api"] if order == "api" else []
            row.ours.append(measure([*BATCHCTL, "results", self.result_ref, "-o", str(ours_out),
                                     *how], self.env(self.results_home)))
            self.log(f"  {fmt} batchctl  {row.ours[-1]}")

        def theirs(rep: int) -> None:
            sdk_out.unlink(missing_ok=True)
            row.theirs.append(measure([*SDK, f"results-{fmt}", self.result_ids[0], str(sdk_out)],
                                      self.env()))
            self.log(f"  {fmt} SDK       {row.theirs[-1]}")

        alternate(self.reps, ours, theirs)
        n_sdk = line_count(sdk_out) - (fmt == "csv")
        if fmt == "jsonl" and n_sdk != self.scale:
            self.problems.append(f"the SDK loop wrote {n_sdk} JSONL lines, not {self.scale}")
        if not self.has["results"]:
            return
        if fmt == "jsonl":
            same = sha256(ours_out) == sha256(WORK / "curl-warm.jsonl")
            self.checks.append(f"batchctl's JSONL is byte for byte what curl received: "
                               f"{'yes' if same else 'NO'}")
            if not same:
                self.problems.append("batchctl's JSONL differs from the API's bytes")
        else:
            a, b = csv_rows(ours_out), csv_rows(sdk_out)
            same = a == b
            self.checks.append(f"batchctl's CSV has the same header and rows as the SDK loop's "
                               f"({len(a) - 1:,} rows): {'yes' if same else 'NO'}")
            if not same:
                diff = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
                detail = f"first difference: {a[diff]!r} vs {b[diff]!r}" if diff is not None \
                    else f"{len(a)} vs {len(b)} rows"
                self.problems.append(f"CSV differs from the SDK loop's: {detail[:600]}")

    def bench_curl(self, big: bool) -> None:
        """curl for the raw transfer; at big scales it is the other side of the comparison."""
        name = f"results → JSONL, {len(self.result_ids)} batches" if big else "raw transfer"
        row = Row(name, theirs_label="curl", wall_target=1.3 if big else None,
                  note=f"{self.scale:,} results" + ("" if big else "; curl is the limit"))
        self.rows.append(row)
        ours_out = WORK / "out-batchctl-curlcmp.jsonl"
        curl_out = WORK / "out-curl.jsonl"

        def ours(rep: int) -> None:
            if not self.has["results"]:
                return
            ours_out.unlink(missing_ok=True)
            row.ours.append(measure([*BATCHCTL, "results", self.result_ref, "-o", str(ours_out)],
                                    self.env(self.results_home)))
            self.log(f"  curl-cmp batchctl {row.ours[-1]}")

        def theirs(rep: int) -> None:
            row.theirs.append(self.curl_once(curl_out))
            self.log(f"  curl             {row.theirs[-1]}")

        alternate(self.reps, ours, theirs)
        if row.ours:
            same = sha256(ours_out) == sha256(curl_out)
            self.checks.append(f"{name}: batchctl's bytes equal curl's: {'yes' if same else 'NO'}")
            if not same:
                self.problems.append(f"{name}: batchctl's output differs from curl's")

    # -- start-up ---------------------------------------------------------------------------
    def bench_startup(self) -> None:
        reps = max(self.reps, 7)
        home = WORK / "state-help"
        # Piped (plain help), and as on a terminal (Rich's help renderer; BATCHCTL_FORCE_TTY=1).
        for where, extra in (("piped", {}), ("terminal", {"BATCHCTL_FORCE_TTY": "1"})):
            row = Row("`batchctl --help`", theirs_label="python -c pass", abs_target=0.15,
                      note=f"start-up, {where}")
            self.rows.append(row)
            env = {**self.env(home), **extra}
            alternate(
                reps,
                lambda rep, row=row, env=env: row.ours.append(measure([*BATCHCTL, "--help"], env)),
                lambda rep, row=row: row.theirs.append(measure([PY, "-c", "pass"], self.env())),
            )
        row2 = Row("`batchctl status ID`", theirs_label="SDK retrieve",
                   note="one batch, tracked")
        self.rows.append(row2)
        if not self.has["status"]:
            row2.note += "; batchctl status has not landed"
        bid = self.result_ids[0]

        def ours(rep: int) -> None:
            if self.has["status"]:
                row2.ours.append(measure([*BATCHCTL, "status", bid], self.env(self.results_home)))

        alternate(reps, ours,
                  lambda rep: row2.theirs.append(measure([*SDK, "status", bid], self.env())))

    # -- report -----------------------------------------------------------------------------
    def run(self) -> str:
        self.prepare()
        try:
            big = self.scale > PER_BATCH
            if not big and self.want("submit"):
                self.bench_submit()
            if self.want("results") or self.want("curl") or self.want("startup"):
                self.make_results_batches()
            if not big and self.want("results"):
                self.bench_results("jsonl")
                self.bench_results("csv")
                self.bench_results("csv", order="input")
            if self.want("curl") or (big and self.want("results")):
                self.bench_curl(big)
            if not big and self.want("startup"):
                self.bench_startup()
        finally:
            self.emu.stop()
        return self.report()

    def report(self) -> str:
        import anthropic  # only for its version

        today = dt.date.today().isoformat()
        machine = (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}, anthropic {anthropic.__version__}, "
                   f"load average {self.load_before:.1f} before and "
                   f"{os.getloadavg()[0]:.1f} after the run")
        lines = [
            f"### {self.scale:,} requests — {today}",
            "",
            f"{machine}; emulator over HTTP on loopback in its own process "
            f"(`--processing-seconds 0`, {self.emu.how}); request file {self.size_mb:.0f} MB "
            f"({self.text_bytes} bytes of text a request); medians of {self.reps} alternating "
            f"repetitions (start-up: {max(self.reps, 7)}); each side a fresh process, peak RSS "
            f"and CPU (user + system) from GNU time (%M, %U + %S).",
            "",
            "| measurement | batchctl | other side | ratio | target | met |",
            "|---|---:|---:|---:|---|---|",
        ]

        def cell(value: float | None, unit: str) -> str:
            if value is None:
                return "n/a"
            return f"{value:.2f} s" if unit == "s" else f"{value:,.0f} MB"

        for row in self.rows:
            for attr, unit in (("wall", "s"), ("cpu", "s"), ("rss_mb", "MB")):
                ours, theirs = Row.med(row.ours, attr), Row.med(row.theirs, attr)
                ratio = f"{ours / theirs:.2f}x" if ours and theirs else ""
                target, met = "", ""
                if attr == "wall" and row.wall_target is not None:
                    target = f"≤ {row.wall_target}x {row.theirs_label}"
                    if ours is not None and theirs:
                        met = "yes" if ours / theirs <= row.wall_target else "**MISSED**"
                if attr == "wall" and row.abs_target is not None:
                    target = f"≤ {row.abs_target} s"
                    if ours is not None:
                        met = "yes" if ours <= row.abs_target else "**MISSED**"
                if attr == "rss_mb" and row.rss_target is not None:
                    target = f"≤ {row.rss_target} MB"
                    if ours is not None:
                        met = "yes" if ours <= row.rss_target else "**MISSED**"
                what = {"wall": "wall", "cpu": "CPU", "rss_mb": "peak RSS"}[attr]
                lines.append(
                    f"| {row.name}: {what} ({row.note}) | {cell(ours, unit)} | "
                    f"{cell(theirs, unit)} ({row.theirs_label}) | {ratio} | {target} | {met} |"
                )
        if self.checks or self.problems:
            lines.append("")
            lines += [f"- {c}" for c in self.checks]
            lines += [f"- **problem:** {p}" for p in self.problems]
        return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scale", type=int, default=PER_BATCH, help="number of requests/results")
    p.add_argument("--reps", type=int, default=3, help="repetitions of each side (median)")
    p.add_argument("--out", type=Path, default=HERE / "out")
    p.add_argument("--text-bytes", type=int, default=None,
                   help="text per request (default 1200; 200 above 100,000 requests)")
    p.add_argument("--only", type=lambda s: set(s.split(",")), default=None,
                   help="comma-separated subset: submit,results,curl,startup")
    p.add_argument("--keep", action="store_true",
                   help="keep this run's scratch directory (outputs, state, emulator data)")
    args = p.parse_args()
    global WORK
    # Request files are shared (generated once, atomically); everything else is per run, so two
    # runs at once (other people measuring too) never touch each other's files.
    WORK = SHARED / f"run-{os.getpid()}"
    WORK.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    try:
        table = bench.run()
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"scale-{args.scale}.md").write_text(table)
    raw = {r.name: {"ours": [asdict(s) for s in r.ours], "theirs": [asdict(s) for s in r.theirs]}
           for r in bench.rows}
    (args.out / f"raw-{args.scale}.json").write_text(json.dumps(raw, indent=1))
    parts = sorted(args.out.glob("scale-*.md"), key=lambda f: int(f.stem.split("-")[1]))
    (args.out / "latest.md").write_text("\n".join(f.read_text() for f in parts))
    print(table)
    return 1 if bench.problems else 0


SHARED = HERE / ".work"
WORK = SHARED

if __name__ == "__main__":
    sys.exit(main())
