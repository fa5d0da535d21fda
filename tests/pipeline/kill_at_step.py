"""A Python logging handler for a test's Dagster instance (dagster.yaml, ``python_logs: dagster_handler_config``):
it kills its own process with SIGKILL when the run logs that a given step started, ``after`` seconds later (a
timer thread) or at once. Dagster hands it each event after storing it, so the run's event log says the step
started: a kill -9 "at" a step however short the step is, which a test watching the log from outside cannot time."""

from __future__ import annotations

import logging
import os
import signal
import threading

import yaml


class KillAtStep(logging.Handler):
    def __init__(self, step: str, after: float = 0.0):
        super().__init__()
        self.started = f'Started execution of step "{step}"'
        self.after = after

    def emit(self, record: logging.LogRecord) -> None:
        if self.started not in record.getMessage():
            return
        if self.after:
            threading.Timer(self.after, os.kill, (os.getpid(), signal.SIGKILL)).start()
        else:
            os.kill(os.getpid(), signal.SIGKILL)


def dagster_yaml(base: str, step: str, after: float = 0.0) -> str:
    """``base`` (the text of a dagster.yaml) with a KillAtStep for ``step`` among the instance's log handlers."""
    config = yaml.safe_load(base)
    config.setdefault("python_logs", {})["dagster_handler_config"] = {"handlers": {"kill_at_step": {
        "class": f"{__name__}.KillAtStep", "level": "DEBUG", "step": step, "after": after}}}
    return yaml.safe_dump(config)
