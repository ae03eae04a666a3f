"""Send notices from flows; a failing webhook never fails a run.

:func:`send_notice` is a plain function, not a task: it is called from flows after the
interesting thing happened. It builds the notifier from settings, sends, logs the outcome
(never the URL) and returns the Delivery; whatever goes wrong becomes a logged warning.

What flow code cannot report (a process that died, a run no worker started) is alerted
by the Prefect server itself: ``make deploy`` creates automations on Failed, Crashed and
Late runs that post to the same webhook through a notification block
(``deployments/alerts.py``).
"""

from __future__ import annotations

import logging

from orchestra_ops.domain.notifications import Notice
from orchestra_ops.errors import OpsError
from orchestra_ops.ports.notifier import Delivery
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import for_process
from tasks.policy import run_logger


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    return run_logger("orchestra_ops.notify")


def send_notice(notice: Notice) -> Delivery:
    """Send ``notice`` to ORCHESTRA_NOTIFY_WEBHOOK_URL when set; never raises."""
    logger = _log()
    try:
        notifier = for_process(load_settings()).notifier()
        if notifier is None:
            logger.info("notice %s not sent: no webhook configured", notice.kind.value)
            return Delivery(False, "ORCHESTRA_NOTIFY_WEBHOOK_URL is not set", attempts=0)
        delivery = notifier.send(notice)
    except Exception as error:  # a notice must never fail the run it reports on
        # OpsError messages are written to be safe; others might quote anything.
        what = type(error).__name__ + (f": {error}" if isinstance(error, OpsError) else "")
        logger.warning("notice %s not sent: %s", notice.kind.value, what)
        return Delivery(False, f"not sent ({type(error).__name__})", attempts=0)
    if delivery.delivered:
        logger.info("notice %s delivered: %s", notice.kind.value, delivery.reason)
    else:
        logger.warning("notice %s not delivered: %s", notice.kind.value, delivery.reason)
    return delivery
