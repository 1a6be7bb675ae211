"""`dibao airflow`: Airflow's standalone server (scheduler, DAG processor, triggerer,
API server and UI) on the project's DAGs, safe to open on a laptop.

- The API server listens on 127.0.0.1 unless `AIRFLOW__API__HOST` says otherwise, on
  the chosen port; the workers reach the execution API on that same port.
- The worker and triggerer log servers are not started: Airflow 3.3 binds them to every
  interface whatever the configuration (`airflow/utils/serve_logs/core.py` passes
  `host=""` to uvicorn), and on one machine the API server reads task logs from the
  log folder itself. `airflow standalone` starts its components as `airflow <command>`
  from PATH: a small wrapper first on PATH adds `--skip-serve-logs` to the scheduler
  and the triggerer.
- DAGs are paused at creation; on the first start in an Airflow home, the project's
  DAGs that `dibao run` registered unpaused before are paused once. Nothing runs until
  the data team unpauses a DAG in the UI.
- Airflow's default time zone is Asia/Shanghai (the DAGs' schedules are in it too).
  Airflow 3's UI shows times in the browser's time zone (the user menu changes it):
  `[webserver] default_ui_timezone` was removed in Airflow 3.
- Alerts go where `dibao run`'s go by default (`<out>/alerts.log`).
- The server runs as a child in its own process group; SIGINT/SIGTERM/SIGHUP are passed
  on to the whole group, and every process it started (task processes that made groups
  of their own included) is gone when `serve` returns.

Settings the operator already put in the environment are kept, except the API port and
the execution API URL, which follow the chosen port. Environment variables take
precedence over `airflow.cfg`, whose generated defaults cannot be told from choices.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
TIMEZONE = "Asia/Shanghai"
STOP_GRACE_S = 30.0  # for the standalone server to stop its components after SIGINT
SECOND_SIGNAL_S = 10.0  # then its components (not standalone itself) get SIGTERM
IDLE_WORKER = "LocalExecutor: <idle>"  # an idle LocalExecutor worker's process title
KILL_GRACE_S = 10.0  # for leftovers between SIGTERM and SIGKILL
WRAPPER_DIR = ".dibao-bin"
PAUSED_STAMP = ".dibao-ui-paused-once"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

PAUSE_EXISTING = r"""
import sys
from sqlalchemy import inspect, update
from airflow import settings
from airflow.models.dag import DagModel

if not inspect(settings.engine).has_table(DagModel.__tablename__):
    print(0)
    sys.exit(0)
with settings.Session() as session:
    result = session.execute(update(DagModel).where(DagModel.dag_id.in_(sys.argv[1:]), DagModel.is_paused.is_(False))
                             .values(is_paused=True))
    session.commit()
print(result.rowcount)
"""


class AirflowUIError(Exception):
    """`dibao airflow` could not start; the message is one line."""


def find_airflow() -> str | None:
    """The `airflow` command of this environment: next to the running Python first (so
    `.venv/bin/dibao airflow` works without .venv/bin on PATH), else on PATH."""
    beside = Path(sys.executable).parent / "airflow"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("airflow")


def client_host(host: str) -> str:
    """The address a local client uses to reach a server bound to `host`."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def server_env(port: int, host: str | None = None) -> dict[str, str]:
    """Set, in os.environ, what the standalone server needs; return the values in force.

    Must run before `embedded_airflow.configure()` (which defaults DAGs to unpaused for
    in-process runs) and before anything imports airflow.
    """
    from pipelines.config import default_landing, default_out, default_warehouse

    env = os.environ
    host = host or env.get("AIRFLOW__API__HOST") or DEFAULT_HOST
    env["AIRFLOW__API__HOST"] = host
    env["AIRFLOW__API__PORT"] = str(port)
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://{client_host(host)}:{port}/execution/"
    landing = default_landing().resolve()
    out = default_out().resolve()
    defaults = {
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": TIMEZONE,
        "AIRFLOW__CORE__PARALLELISM": "4",  # the default 32 workers need ~5.5 GB
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": DEFAULT_HOST,  # if the check is enabled
        # The DAGs' params default to these (relative paths would follow the server's cwd).
        "DIBAO_LANDING": str(landing),
        "DIBAO_WAREHOUSE": str(default_warehouse().resolve()),
        "DIBAO_OUT": str(out),
        "DIBAO_FEEDBACK": str(landing / "feedback"),  # as `dibao run`
        "DIBAO_ALERT_LOG": str(out / "alerts.log"),  # as `dibao run`
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    return {key: env[key] for key in ("AIRFLOW__API__HOST", "AIRFLOW__API__PORT",
                                      "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", *defaults)}


def write_wrapper(home: Path, airflow: str) -> Path:
    """A folder holding an `airflow` that runs the real one, the scheduler and the
    triggerer without their log servers (which would listen on every interface), and that
    makes the writer pool before the scheduler starts."""
    from pipelines.runtime.embedded_airflow import WRITER_POOL, WRITER_POOL_DESCRIPTION

    folder = home / WRAPPER_DIR
    folder.mkdir(parents=True, exist_ok=True)
    exe = shlex.quote(airflow)
    script = folder / "airflow"
    script.write_text(
        "#!/bin/sh\n"
        "# Written by `dibao airflow` (pipelines/runtime/airflow_ui.py): `airflow standalone` starts its\n"
        "# components from PATH; Airflow's log servers would listen on every interface. The scheduler\n"
        "# holds tasks of a pool that does not exist: the nightly DAG's writer pool first (idempotent).\n"
        'case "$1" in\n'
        f'  scheduler) {exe} pools set {WRITER_POOL} 1 {shlex.quote(WRITER_POOL_DESCRIPTION)} >/dev/null 2>&1\n'
        f'    exec {exe} "$@" --skip-serve-logs ;;\n'
        f'  triggerer) exec {exe} "$@" --skip-serve-logs ;;\n'
        "esac\n"
        f'exec {exe} "$@"\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return folder


def pause_existing_dags(home: Path, python: str, dag_ids: list[str]) -> int | None:
    """Once per Airflow home: pause the project's DAGs an in-process `dibao run` registered
    unpaused. Later starts keep whatever the data team chose in the UI. Returns how many
    were paused, None when it had been done already or could not be done."""
    stamp = home / PAUSED_STAMP
    if stamp.exists() or not dag_ids:
        return None
    done = subprocess.run([python, "-c", PAUSE_EXISTING, *dag_ids], capture_output=True, text=True,
                          env=os.environ, timeout=300)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        print(f"dibao airflow: could not pause the DAGs already registered in {home}: {last}", file=sys.stderr)
        return None
    stamp.write_text("the project's DAGs registered before the first `dibao airflow` were paused\n")
    return int(done.stdout.strip().splitlines()[-1])


def project_dag_ids() -> list[str]:
    """dag_id="..." of every file of the dags folder, read as text (no import)."""
    import re

    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    ids: list[str] = []
    for path in sorted(folder.glob("*.py")):
        ids += re.findall(r"""dag_id\s*=\s*["']([A-Za-z0-9_.-]+)["']""", path.read_text(encoding="utf-8"))
    return ids


def _set_child_subreaper() -> None:
    """Linux: orphaned descendants (a task process whose supervisor died) become our
    children instead of init's, so they can be found and stopped."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def leftovers(pgid: int) -> list:
    """Processes still alive that serve started, the group's leader (the standalone
    process, which Popen waits for) excepted: descendants and the group's members."""
    import psutil

    me = psutil.Process()
    found = {p.pid: p for p in me.children(recursive=True) if p.pid != pgid}
    found[pgid] = None  # never listed
    for p in psutil.process_iter():
        try:
            if p.pid not in found and os.getpgid(p.pid) == pgid:
                found[p.pid] = p
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    alive = []
    for p in found.values():
        if p is None:
            continue
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
            else:
                p.wait(0)  # reap it (our child, or an orphan handed to us as subreaper)
        except (psutil.Error, ChildProcessError):
            continue
    return alive


def describe(procs: list) -> str:
    """pid, state and command of each process, for the operator."""
    parts = []
    for p in procs:
        try:
            parts.append(f"{p.pid} ({p.status()}) {' '.join(p.cmdline())[:80]}")
        except Exception:  # noqa: BLE001 - gone meanwhile
            continue
    return "; ".join(parts) or "none besides standalone"


def stop_all(pgid: int, grace: float = KILL_GRACE_S) -> list[int]:
    """SIGTERM whatever serve started is still running, SIGKILL it after `grace` seconds.
    Returns the pids that had to be killed."""
    import psutil

    procs = leftovers(pgid)
    if not procs:
        return []
    for p in procs:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)
    leftovers(pgid)  # reap
    return [p.pid for p in alive]


def second_signal(pgid: int) -> None:
    """The processes still running SECOND_SIGNAL_S after SIGINT. Standalone's components
    (scheduler, DAG processor, triggerer, API server) and busy LocalExecutor workers get
    SIGTERM (a worker's supervisor passes it to its task). Every other process gets SIGKILL:
    those are processes forked from a component, which inherit its signal handlers, and
    the handlers hang or do nothing outside the component. Seen: idle LocalExecutor workers
    (SIGINT ignored, the scheduler's SIGTERM handler returns outside the scheduler) the
    scheduler waits on forever, and a forked DAG-processor child stuck in the manager's
    shutdown; while they live they hold standalone's output pipe and it never exits."""
    import psutil

    try:
        components = {p.pid for p in psutil.Process(pgid).children()}
    except psutil.Error:
        components = set()
    for p in leftovers(pgid):
        try:
            title = " ".join(p.cmdline())
            if p.pid in components or ("LocalExecutor:" in title and IDLE_WORKER not in title):
                p.terminate()
            else:
                p.kill()
        except Exception:  # noqa: BLE001 - gone already
            continue


def _prepare(port: int, host: str | None) -> tuple[str, dict[str, str]]:
    """Settings, Airflow home, the command and the child's environment; says where the UI is."""
    from pipelines.runtime.embedded_airflow import configure

    settings = server_env(port, host)
    home = configure()
    airflow = find_airflow()
    if airflow is None:
        raise AirflowUIError("the airflow command is not installed in this environment (run make env)")
    try:  # the warehouse, lists and logs hold identities: private to the pipeline's user, as `dibao run`
        os.umask(int(os.environ.get("DIBAO_UMASK", "077"), 8))
    except ValueError:
        raise AirflowUIError(f"DIBAO_UMASK must be octal, e.g. 027, got {os.environ['DIBAO_UMASK']!r}") from None
    wrapper = write_wrapper(home, airflow)
    python = str(Path(airflow).parent / "python") if (Path(airflow).parent / "python").exists() else sys.executable
    paused = pause_existing_dags(home, python, project_dag_ids())
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")  # the components' lines as they come, and none lost at a kill
    env["PATH"] = os.pathsep.join([str(wrapper), str(Path(airflow).parent), env.get("PATH", "")])
    url = f"http://{client_host(settings['AIRFLOW__API__HOST'])}:{port}"
    print(f"Airflow home {home}; UI on {url} once started (listening on {settings['AIRFLOW__API__HOST']}).\n"
          f"DAGs are paused until you unpause them in the UI"
          f"{f' ({paused} paused now, registered by dibao run)' if paused else ''}; "
          f"alerts go to {settings['DIBAO_ALERT_LOG']}.\n"
          f"Log in as admin; the password is generated on first start and kept in "
          f"{home / 'simple_auth_manager_passwords.json.generated'}. Stop with Ctrl-C.",
          file=sys.stderr, flush=True)
    return airflow, env


def serve(port: int, host: str | None = None, stop_grace: float = STOP_GRACE_S) -> int:
    """Run `airflow standalone` on the project's DAGs until it ends or is stopped; return
    0 after a requested stop (once every process it started is gone), else its exit code."""
    airflow, env = _prepare(port, host)
    _set_child_subreaper()
    stop_requested: list[float] = []
    group: list[int] = []

    def on_signal(signum, frame):  # noqa: ARG001
        if not stop_requested:
            stop_requested.append(time.monotonic())
            if group:
                _signal_group(group[0], signal.SIGINT)  # what standalone and its components stop cleanly on
        elif len(stop_requested) == 1:  # asked twice: do not wait for SECOND_SIGNAL_S
            stop_requested[0] -= SECOND_SIGNAL_S

    # Handlers first: the child then starts with SIGINT at its default (an ignored SIGINT,
    # e.g. when started in the background by a script, would be inherited and standalone
    # would never stop on it).
    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        child = subprocess.Popen([airflow, "standalone"], env=env, process_group=0)
    except BaseException:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise
    pgid = child.pid
    group.append(pgid)
    if stop_requested:  # a signal came while it was starting
        _signal_group(pgid, signal.SIGINT)
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                pass
            if not stop_requested:
                continue
            waited = time.monotonic() - stop_requested[0]
            if waited > stop_grace:
                print(f"dibao airflow: the server did not stop within {stop_grace:.0f}s; killing it: "
                      f"{describe(leftovers(pgid))}", file=sys.stderr, flush=True)
                _signal_group(pgid, signal.SIGKILL)
            elif waited > SECOND_SIGNAL_S and len(stop_requested) == 1:
                stop_requested.append(time.monotonic())
                second_signal(pgid)
    finally:
        if child.poll() is None:  # serve itself is failing: take the server down with it
            _signal_group(pgid, signal.SIGINT)
            try:
                child.wait(timeout=stop_grace)
            except subprocess.TimeoutExpired:
                _signal_group(pgid, signal.SIGKILL)
                child.wait()
        killed = stop_all(pgid)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if killed:
        print(f"dibao airflow: killed {len(killed)} process(es) left running: {killed}", file=sys.stderr)
    if stop_requested:  # asked to stop, and everything it started is gone
        return 0
    return 128 - code if code < 0 else code
