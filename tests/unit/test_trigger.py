"""`orchestra-ops trigger` over a fake server: one line per error, an exit code per outcome."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from deployments.parameter_schemas import strict_schema
from flows.lambda_provisioning import lambda_provisioning
from orchestra_cli.app import app
from orchestra_cli.trigger import run_trigger
from orchestra_ops.errors import InvalidRequest, NotFound, Unavailable
from orchestra_ops.trigger import Deployment, Exit, RunState, follow, read_parameters

NAME = "lambda-provisioning/lambda-provisioning"


def _deployment(**changes: Any) -> Deployment:
    fields: dict[str, Any] = {
        "id": "dep-1",
        "name": NAME,
        "parameter_schema": strict_schema(lambda_provisioning),
        "enforces_schema": True,
        "defaults": {},
        "concurrency_limit": 1,
        "collision_strategy": "CANCEL_NEW",
    }
    return Deployment(**(fields | changes))


def _state(kind: str, name: str | None = None, message: str | None = None) -> RunState:
    created = dt.datetime.now(dt.UTC)  # just made (a module-level time is stale in a long run)
    return RunState("run-1", "brave-otter", kind, name or kind.title(), message, created)


class FakeServer:
    """A DeploymentClient that records calls and plays back the run's states."""

    def __init__(
        self, states: list[RunState] | None = None, error: Exception | None = None
    ) -> None:
        self.states = states or [_state("SCHEDULED")]
        self.error = error
        self.created: list[tuple[dict[str, Any], str | None]] = []
        self.deployment_info = _deployment()
        self.by_key: dict[str, RunState] = {}

    def deployment(self, name: str) -> Deployment:
        if self.error:
            raise self.error
        return self.deployment_info

    def create_run(
        self, deployment: Deployment, parameters: dict[str, Any], idempotency_key: str | None
    ) -> RunState:
        """As Prefect does: parameters merged over the defaults; a known key, its first run."""
        self.created.append((parameters, idempotency_key))
        run = replace(self.states[0], parameters={**deployment.defaults, **parameters})
        return self.by_key.setdefault(idempotency_key, run) if idempotency_key else run

    def run(self, run_id: str) -> RunState:
        if len(self.states) > 1:
            self.states.pop(0)
        return self.states[0]


def _trigger(server: FakeServer, params: str | None, **options: Any) -> tuple[Exit, list[str]]:
    lines: list[str] = []

    @contextmanager
    def connect() -> Iterator[FakeServer]:
        yield server

    code = run_trigger(
        NAME,
        params,
        options.pop("params_file", None),
        options.pop("key", None),
        wait=options.pop("wait", False),
        timeout_s=options.pop("timeout_s", 30.0),
        echo=lines.append,
        fail=lambda line: lines.append(f"ERR {line}"),
        connect=connect,
        poll_s=0.0,
    )
    return code, lines


GOOD = '{"params": {"environment": "dev", "count": 1}}'


def test_a_run_is_created_with_the_key_and_the_line_names_it() -> None:
    server = FakeServer()
    code, lines = _trigger(server, GOOD, key="ticket-1")
    assert code is Exit.DONE
    assert server.created == [({"params": {"environment": "dev", "count": 1}}, "ticket-1")]
    assert lines == [f"run brave-otter (run-1) of {NAME}: Scheduled"]


def test_a_key_used_again_with_other_parameters_is_refused_naming_the_first_run() -> None:
    """The same key and parameters: the first run, said; other parameters: refused (2)."""
    server = FakeServer()
    assert _trigger(server, GOOD, key="ticket-1")[0] is Exit.DONE
    assert _trigger(server, GOOD, key="ticket-1")[0] is Exit.DONE
    prod = '{"params": {"environment": "prod", "dry_run": true}}'
    code, lines = _trigger(server, prod, key="ticket-1")
    assert code is Exit.REFUSED
    assert lines == [
        f"ERR trigger: key 'ticket-1' already started run brave-otter (run-1) of {NAME} with other "
        "parameters; no new run was made (a new request needs a new key)"
    ]
    assert _trigger(server, prod, key="ticket-2")[0] is Exit.DONE


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ('{"params": {"environment": "dev", "colour": "blue"}}', "params.colour: unknown field"),
        ('{"params": {"environment": "dev"}, "priority": 1}', "priority: unknown field"),
        ('{"params": {"environment": "prod", "ttl_hours": 8}}', "params.ttl_hours: must be"),
        ('{"params": {"environment": "dev", "count": "two"}}', "params.count: 'two' is not of"),
        ('{"params": {"environment": "dev", "regions": ["mars-north-1"]}}', "regions[0]: 'mars"),
        ("{}", "params' is a required property"),
    ],
)
def test_parameters_the_schema_refuses_create_nothing_and_name_the_field(
    params: str, words: str
) -> None:
    server = FakeServer()
    code, lines = _trigger(server, params)
    assert code is Exit.REFUSED and server.created == []
    assert len(lines) == 1 and lines[0].startswith(f"ERR trigger: {NAME} refuses"), lines
    assert words in lines[0]


def test_a_deployment_that_does_not_enforce_its_schema_is_left_to_the_server() -> None:
    server = FakeServer()
    server.deployment_info = _deployment(enforces_schema=False)
    code, _ = _trigger(server, '{"anything": 1}')
    assert code is Exit.DONE and server.created == [({"anything": 1}, None)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{bad", "--params: not JSON (Expecting property name"),
        ("[1, 2]", "--params: must be a JSON object"),
    ],
)
def test_bad_json_is_one_line_and_exit_2(text: str, words: str) -> None:
    code, lines = _trigger(FakeServer(), text)
    assert code is Exit.REFUSED and len(lines) == 1 and words in lines[0]


def test_a_parameters_file_is_read_and_a_missing_one_named(tmp_path: Path) -> None:
    file = tmp_path / "params.json"
    file.write_text(GOOD)
    assert read_parameters(None, file) == {"params": {"environment": "dev", "count": 1}}
    with pytest.raises(InvalidRequest, match=r"--params-file .*nope.json: cannot read it"):
        read_parameters(None, tmp_path / "nope.json")
    with pytest.raises(InvalidRequest, match="not both"):
        read_parameters("{}", file)


@pytest.mark.parametrize(
    "error",
    [
        NotFound(f"deployment {NAME!r}: not found on http://127.0.0.1:4200/api"),
        Unavailable("cannot reach the Prefect server at http://127.0.0.1:9/api (ConnectError)"),
    ],
)
def test_no_server_or_no_deployment_is_exit_3(error: Exception) -> None:
    code, lines = _trigger(FakeServer(error=error), GOOD)
    assert code is Exit.NO_SERVER and lines == [f"ERR trigger: {error}"]


def test_wait_follows_the_run_to_completed() -> None:
    states = [_state("SCHEDULED"), _state("PENDING"), _state("RUNNING"), _state("COMPLETED")]
    code, lines = _trigger(FakeServer(states), GOOD, wait=True)
    assert code is Exit.DONE
    assert lines == [
        f"run brave-otter (run-1) of {NAME}: Scheduled",
        "brave-otter: Pending",
        "brave-otter: Running",
        "brave-otter: Completed",
    ]


def test_a_failed_run_is_exit_1_with_its_message() -> None:
    states = [_state("RUNNING"), _state("FAILED", "RolledBack", "health gate failed")]
    code, lines = _trigger(FakeServer(states), GOOD, wait=True)
    assert code is Exit.NOT_COMPLETED
    assert lines[-1] == "ERR brave-otter: RolledBack: health gate failed"


def test_a_run_the_concurrency_limit_cancelled_says_so_with_exit_5() -> None:
    """Prefect's CANCEL_NEW answer: Cancelled, "Deployment concurrency limit reached."."""
    states = [
        _state("SCHEDULED"),
        _state("CANCELLED", message="Deployment concurrency limit reached."),
    ]
    code, lines = _trigger(FakeServer(states), GOOD, wait=True)
    assert code is Exit.LIMITED
    assert "cancelled by the concurrency limit" in lines[-1] and "CANCEL_NEW" in lines[-1]


def test_a_cancellation_by_a_person_is_not_blamed_on_the_limit() -> None:
    states = [_state("RUNNING"), _state("CANCELLED", message="Cancelled by user in the UI")]
    code, _ = _trigger(FakeServer(states), GOOD, wait=True)
    assert code is Exit.NOT_COMPLETED


def test_a_held_run_says_it_waits_for_the_slot_and_a_timeout_is_exit_4() -> None:
    clock = iter(float(t) for t in range(100))
    server = FakeServer([_state("SCHEDULED"), _state("SCHEDULED", "AwaitingConcurrencySlot")])
    lines: list[str] = []
    run = follow(
        server, server.states[0], 5, lines.append, sleep=lambda _: None, clock=lambda: next(clock)
    )
    assert lines == [
        "brave-otter: AwaitingConcurrencySlot (held: the deployment's concurrency slot is taken)"
    ]
    code, timed = _trigger(server, GOOD, wait=True, timeout_s=0.001)
    assert run.type == "SCHEDULED" and code is Exit.TIMED_OUT
    assert "still AwaitingConcurrencySlot" in timed[-1] and "the run goes on" in timed[-1]


def test_a_key_that_already_made_a_run_says_no_new_run_was_made() -> None:
    old = RunState(
        "run-1",
        "brave-otter",
        "RUNNING",
        "Running",
        None,
        dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )
    code, lines = _trigger(FakeServer([old]), GOOD, key="ticket-1")
    assert code is Exit.DONE and "key 'ticket-1' had already started it" in lines[0]


def test_the_command_is_registered_and_documents_its_exit_codes() -> None:
    result = CliRunner().invoke(app, ["trigger", "--help"])
    assert result.exit_code == 0
    for code in range(6):  # one list item a code
        assert re.search(rf"^ *\S? *{code} \S", result.output, re.MULTILINE), result.output


def test_an_unset_api_url_is_one_line_and_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    # Unset in the settings too: a Prefect test harness earlier in this process sets it.
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = CliRunner().invoke(app, ["trigger", NAME, "--params", GOOD])
    assert result.exit_code == 3, result.output
    assert result.output.strip().splitlines() == [
        "trigger: PREFECT_API_URL is not set: point it at your Prefect server's API "
        "(e.g. http://127.0.0.1:4200/api)"
    ]


def test_a_parameters_file_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    file = tmp_path / "bin.json"
    file.write_bytes(b"\xff\xfe{}")
    with pytest.raises(InvalidRequest, match=r"bin.json: not UTF-8 text \(byte 0\)"):
        read_parameters(None, file)


@pytest.mark.parametrize("name", ["a/b/c", "lambda-provisioning/", "/x", "  "])
def test_a_malformed_deployment_name_is_bad_input_exit_2(
    name: str,
) -> None:
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        result = CliRunner().invoke(app, ["trigger", name, "--params", GOOD])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_credentials_in_the_api_url_are_never_said() -> None:
    with temporary_settings(updates={PREFECT_API_URL: "http://user:s3cret-pw@127.0.0.1:9/api"}):
        result = CliRunner().invoke(app, ["trigger", NAME, "--params", GOOD])
    assert result.exit_code == 3, result.output
    assert "s3cret-pw" not in result.output and "127.0.0.1:9/api" in result.output
