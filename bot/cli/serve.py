"""``serve``: run the assistant as supervised child processes, and stop them all together.

Children: the action server (``rasa_sdk``), the Rasa server (``rasa run`` with this run's
credentials and endpoints), the staff console (``python -m console``, unless
``CONSOLE_ENABLED=false``) and, with ``SCHEDULER_MODE=embedded``, the reminder worker
(``python -m workers.reminders``), the NLU inbox collection (``python -m workers.training_inbox``)
and, beside the console, the training worker (``python -m workers.training``). When one of them
exits, or on SIGINT/SIGTERM, the others are stopped (SIGTERM, then SIGKILL after 15 s): no child
outlives ``serve``. Each child is also started with the kernel's parent-death signal
(``PR_SET_PDEATHSIG``), so it is sent SIGTERM even when ``serve`` itself is killed (SIGKILL, OOM)
and cannot clean up.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, NoReturn, Optional, Tuple

from bot.cli.processes import action_server, rasa_env, spawn, stop, stop_signals_held
from bot.cli.runtime import api_options, write_runtime_files
from bot.cli.staff import announce_console
from bot.cli.train import latest_model
from bot.settings import ROOT, Settings, get_settings

logger = logging.getLogger(__name__)

TOKEN_ENV = "BOT_RASA_AUTH_TOKEN"  # noqa: S105 - the name of a variable, not a secret
# ``rasa ARGS``, with ``--auth-token`` added inside the child from its environment so the
# token never shows in the process list.
RASA_MAIN = (
    "import os, sys\n"
    "sys.argv[0] = 'rasa'\n"
    f"token = os.environ.pop({TOKEN_ENV!r}, None)\n"
    "sys.argv += ['--auth-token', token] if token else []\n"
    "import integrations.rasa_process\n"
    "integrations.rasa_process.install()\n"  # the one place Rasa's process is adjusted (model fallback, validator)
    "from rasa.__main__ import main\n"
    "main()\n"
)


def rasa_run_command(settings: Settings, model: Path, paths: Dict[str, Path]) -> List[str]:
    """``rasa run`` on the settings' host and port, with the runtime files and the API options."""
    options = api_options(settings)
    args = ["run", "--model", str(model), "--endpoints", str(paths["endpoints"]),
            "--credentials", str(paths["credentials"]), "--interface", settings.rasa_host,
            "--port", str(settings.rasa_port)]
    if options["enable_api"]:
        args.append("--enable-api")
    if options["cors"]:
        args += ["--cors", *options["cors"]]
    return [sys.executable, "-c", RASA_MAIN, *args]


def rasa_server_env(settings: Settings) -> Dict[str, str]:
    """Environment of the Rasa server: log level, request size limit, the API token (if on)."""
    env = rasa_env({"LOG_LEVEL": settings.log_level.upper()})
    env.setdefault("SANIC_REQUEST_MAX_SIZE", str(max(settings.max_webhook_bytes * 4, 1_000_000)))
    env["SANIC_WORKERS"] = str(settings.rasa_workers)  # > 1 only with LOCK_STORE_URL (checked by the settings)
    token = api_options(settings).get("auth_token")
    if token:
        env[TOKEN_ENV] = token
    return env


def reminder_worker_command(settings: Settings) -> Optional[List[str]]:
    """The reminder worker ``serve`` runs (``SCHEDULER_MODE=embedded``), else None (run elsewhere, or off)."""
    if settings.scheduler_mode != "embedded":
        logger.info("SCHEDULER_MODE=%s: reminders are not scheduled by serve", settings.scheduler_mode)
        return None
    return [sys.executable, "-m", "workers.reminders", "--supervised"]


def training_worker_command(settings: Settings) -> Optional[List[str]]:
    """The training worker ``serve`` runs with the console (``SCHEDULER_MODE=embedded``), else None."""
    if settings.scheduler_mode != "embedded" or not settings.console_enabled:
        return None
    return [sys.executable, "-m", "workers.training", "--supervised"]


def training_inbox_command(settings: Settings) -> Optional[List[str]]:
    """The NLU inbox collection ``serve`` runs (``SCHEDULER_MODE=embedded``), else None (run elsewhere, or off)."""
    if settings.scheduler_mode != "embedded":
        return None
    return [sys.executable, "-m", "workers.training_inbox", "--supervised"]


def console_command(settings: Settings) -> Optional[List[str]]:
    """The staff console ``serve`` runs beside the assistant, else None (``CONSOLE_ENABLED=false``)."""
    if not settings.console_enabled:
        return None
    return [sys.executable, "-m", "console"]


def ensure_bridge_token(settings: Settings) -> Settings:
    """In development, make a per-run ``CONSOLE_BRIDGE_TOKEN`` when none is set.

    The token goes into this process's environment, so the Rasa server (its runtime
    credentials) and the console (its environment) both get it; it is never printed.
    Outside development an unset token leaves the handoff desk unable to take tickets.
    """
    if settings.console_bridge_token or not settings.is_development:
        return settings
    os.environ["CONSOLE_BRIDGE_TOKEN"] = secrets.token_urlsafe(32)
    get_settings.cache_clear()
    return get_settings()


def nlg_token(settings: Settings) -> Optional[str]:
    """The console's NLG token: the setting, else (development) a fresh one for this run, else None."""
    if settings.console_nlg_token:
        return settings.console_nlg_token
    if settings.is_development and settings.console_enabled:
        return secrets.token_urlsafe(32)
    if settings.console_enabled:
        logger.warning("CONSOLE_NLG_TOKEN is not set: Rasa answers with the model's domain texts, "
                       "staff edits reach only the actions, reminders and channel notices")
    return None


def _interrupt(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def _ignore_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def supervise(children: List[Tuple[str, subprocess.Popen]], poll_s: float = 0.5) -> int:
    """Wait until one child exits; returns its exit code."""
    while True:
        for name, proc in children:
            code = proc.poll()
            if code is not None:
                logger.log(logging.INFO if code == 0 else logging.ERROR,
                           "%s exited with %s; stopping the others", name, code)
                return code
        time.sleep(poll_s)


def serve() -> int:
    """Action server, Rasa server (REST, and Telegram/Zalo when configured), staff console and the workers."""
    settings = ensure_bridge_token(get_settings())
    token = nlg_token(settings)
    paths = write_runtime_files(nlg_token=token, live_console=True)
    model = latest_model()
    for signum in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored (as Sanic did)
        signal.signal(signum, _interrupt)
    children: List[Tuple[str, subprocess.Popen]] = []
    try:
        with action_server(settings.action_port, env={"WARM_SEARCH_INDEX": "1"}) as actions:
            children.append(("action server", actions))
            worker = reminder_worker_command(settings)
            try:
                if worker:
                    with stop_signals_held():
                        children.append(("reminder worker", spawn(worker, cwd=ROOT)))
                inbox = training_inbox_command(settings)
                if inbox:
                    with stop_signals_held():
                        children.append(("NLU inbox collection", spawn(inbox, cwd=ROOT)))
                console = console_command(settings)
                if console:
                    announce_console(settings)
                    with stop_signals_held():
                        env = {**os.environ, "CONSOLE_NLG_TOKEN": token} if token else None
                        children.append(("staff console", spawn(console, cwd=ROOT, env=env)))
                trainer = training_worker_command(settings)
                if trainer:
                    with stop_signals_held():
                        children.append(("training worker", spawn(trainer, cwd=ROOT)))
                if settings.rest_enabled:
                    print(f"Assistant on http://{settings.rasa_host}:{settings.rasa_port}/webhooks/rest/webhook "
                          f"(chat with `make chat`)", flush=True)
                with stop_signals_held():
                    children.append(("rasa server", spawn(rasa_run_command(settings, model, paths), cwd=ROOT,
                                                          env=rasa_server_env(settings))))
                return supervise(children)
            finally:
                _ignore_signals()  # a second Ctrl-C must not cut the clean-up short
                for _name, proc in reversed(children[1:]):
                    stop(proc)
    except KeyboardInterrupt:
        return 0
