"""API contract (schemathesis) against a live server process, as an officer and as an admin.

One ``fieldproof serve`` process (uvicorn) on a PostgreSQL database of its own (cloned from the
run's migrated template, tests/databases.py) and the embedded file store. Schemathesis runs
every check it has — server errors, status codes, content types, response headers and bodies
against the OpenAPI document, negative data rejected, positive data accepted, authentication
not ignored, methods and headers — over the examples, fuzzing and stateful phases, once with
an officer's token and once with an admin's (issue 15, point 8). Zero failures is the bar.

``make fuzz`` runs the same with ``FIELDPROOF_TEST_FUZZ_SCALE=10`` (ten times the examples, and the
coverage phase). The hostile-input walk (tests/e2e/test_hostile_input.py) feeds NUL, lone
surrogates and extreme date-times (tests/strategies.py) into every string and date-time field.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.e2e import hostile
from tests.e2e.live import LiveApi, start_live_api
from tests.strategies import hostile_text, instants

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCALE = int(os.environ.get("FIELDPROOF_TEST_FUZZ_SCALE", "1"))
EXAMPLES = 2 * SCALE
# A fixed seed inside `make test` (a failure reproduces); `make fuzz` draws a new one each run.
SEED = os.environ.get("FIELDPROOF_TEST_FUZZ_SEED", "20261202" if SCALE == 1 else "")
PHASES = "examples,fuzzing,stateful" + (",coverage" if SCALE > 1 else "")

# Checks that must be told what this API legitimately answers (never switched off):
# - positive_data_acceptance: a schema-valid request may still be refused by a rule the JSON
#   Schema cannot state. 422 ``invalid-input`` is the answer for cross-field rules (a fine
#   needs its range, a declared conflict names its ground, the next stage after …), 422
#   ``invalid-text`` / ``datetime-out-of-range`` for the input policy (no NUL or control
#   characters, date-times in 1970–2200: backend/core/inputs.py). Everything else a body may
#   not hold (unknown members, lengths, patterns, list items) is in the document.
# - tus (/api/mobile/v1/uploads): the protocol's requests are headers whose values are
#   base64-encoded structured metadata (Upload-Metadata), offsets that must equal the upload's
#   state, and bodies that must be application/offset+octet-stream — JSON Schema cannot say
#   what a valid one is, so there positive_data_acceptance also expects the answers tus gives
#   such input (400 bad header, 405 bad method override, 412 version, 415 chunk media type,
#   423 locked, 460 checksum); and a missing or other Tus-Resumable is 412 by the tus
#   specification, an expected rejection of negative data and of a missing required header.
# - negative_data_rejection: a body over the route's size limit is refused with 413 before
#   it is read (FIELDPROOF_JSON_BODY_LIMIT), a rejection like any other.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]

[[operations]]
include-path-regex = "^/api/mobile/v1/uploads"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "3xx", "400", "401", "403", "404", "405", "409", "412", "415", "422", "423", "429", "460",
]
checks.negative_data_rejection.expected-statuses = [
    "400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428", "429",
]
checks.missing_required_header.expected-statuses = ["400", "401", "403", "406", "412", "415", "422"]
"""


def schemathesis_run(api: LiveApi, persona: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / f"schemathesis-{persona}.toml"
    config.write_text(CONFIG + api.parameters_toml(persona), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{api.url}/schema/openapi.json",
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "2",
        "--header",
        f"Authorization: Bearer {api.login(persona)}",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        *(["--seed", SEED] if SEED else []),
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / f"report-{persona}"),
        "--no-color",
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600 * SCALE, check=False)


@pytest.mark.parametrize("persona", ["officer", "admin"])
def test_every_operation_passes_every_check(live_api: LiveApi, persona: str, tmp_path: Path) -> None:
    result = schemathesis_run(live_api, persona, tmp_path)
    output = result.stdout[-20000:] + result.stderr[-4000:]
    assert result.returncode == 0, f"schemathesis as {persona}:\n{output}"
    assert live_api.server_errors() == [], live_api.server_errors()


@pytest.fixture(scope="module")
def live_api(migrated_postgres: str, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """One server for the module; ``migrated_postgres`` makes sure the run's template exists."""
    workerinput = getattr(pytestconfig, "workerinput", None)
    worker = str(workerinput["workerid"]) if workerinput else "main"
    api = start_live_api(worker, tmp_path_factory.mktemp("live-api"))
    try:
        yield api
    finally:
        api.stop()


HOSTILE_EXAMPLES = 1 * SCALE  # generated cases per operation; each has every field attacked


def test_hostile_values_in_every_field_answer_4xx_problems(live_api: LiveApi) -> None:
    """Every operation, every string and date-time field: NUL, controls, lone surrogates and
    extreme instants (tests/strategies.py) are a 4xx problem, never a 5xx, never accepted."""
    schema = schemathesis.openapi.from_url(f"{live_api.url}/schema/openapi.json")
    headers = {persona: {"Authorization": f"Bearer {live_api.login(persona)}"} for persona in ("officer", "admin")}
    wrong: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        persona = "officer" if operation.path.startswith("/api/mobile/") else "admin"
        _attack(operation, headers[persona], wrong)()
    assert wrong == [], "\n".join(wrong[:50])
    assert live_api.server_errors() == [], live_api.server_errors()
    # Nothing refused left anything behind: no object without its record, no record without its object.
    reconciled = live_api.cli("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


def _attack(operation: Any, headers: dict[str, str], wrong: list[str]) -> Any:
    """A Hypothesis test for one operation: a schema-valid case, then each of its fields in
    turn made hostile (the others as generated), one request per field."""

    @hypothesis_settings(max_examples=HOSTILE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def attack(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(GenerationMode.POSITIVE))
        original = (copy.deepcopy(case.body), dict(case.query or {}), dict(case.path_parameters or {}))
        for field in hostile.fields(case):
            case.body, case.query, case.path_parameters = copy.deepcopy(original[0]), dict(original[1]), dict(original[2])
            value = data.draw(hostile.hostile_value(field))
            hostile.plant(case, field, value)
            response = case.call(headers=headers, timeout=30)
            refused = hostile.must_refuse(field, value)
            content_type = response.headers.get("content-type", "")
            problem = hostile.verdict(response.status_code, content_type, response.content or b"", refused=refused)
            if problem is not None:
                wrong.append(f"{operation.method.upper()} {operation.path} {field.location} {field.path} = {value!r}: {problem}")

    return attack


TUS_KEYS = ("filename", "filetype", "sha256", "case_id", "captured_at", "device_id", "lat", "lon", "accuracy_m")


def test_hostile_tus_metadata_answers_4xx_and_leaves_nothing_behind(live_api: LiveApi) -> None:
    """tus creation-with-upload whose Upload-Metadata carries one hostile value (NUL, controls,
    surrogates, extreme instants): a 4xx problem before any byte is stored, never a 5xx, and no
    object without its record (issue 15, defects 3 and 4)."""
    headers = {"Authorization": f"Bearer {live_api.login('officer')}", "Tus-Resumable": "1.0.0"}
    data = b"%PDF-1.4\n" + os.urandom(2000) + b"\n%%EOF"
    base = {
        "filename": "scene.pdf",
        "filetype": "application/pdf",
        "sha256": hashlib.sha256(data).hexdigest(),
        "case_id": str(live_api.seeded.case_id),
        "captured_at": "2026-05-01T09:30:00+08:00",
        "device_id": "phone-fuzz",
    }
    wrong: list[str] = []

    @hypothesis_settings(max_examples=10 * SCALE, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(key=st.sampled_from(TUS_KEYS), text=hostile_text, moment=instants)
    def attack(key: str, text: str, moment: datetime) -> None:
        value = moment.isoformat() if key == "captured_at" and text.isascii() else text
        metadata = {**base, key: value}
        encoded = ",".join(
            f"{name} {base64.b64encode(raw.encode('utf-8', 'surrogatepass')).decode()}" for name, raw in metadata.items()
        )
        response = requests.post(
            f"{live_api.url}/api/mobile/v1/uploads",
            data=data,
            headers={
                **headers,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": encoded,
                "Content-Type": "application/offset+octet-stream",
            },
            timeout=30,
        )
        field = hostile.Field("query", (key,), key == "captured_at")
        problem = hostile.verdict(
            response.status_code,
            response.headers.get("content-type", ""),
            response.content,
            refused=hostile.must_refuse(field, value),
        )
        if problem is not None:
            wrong.append(f"Upload-Metadata {key} = {value!r}: {problem}")

    attack()
    assert wrong == [], "\n".join(wrong[:50])
    assert live_api.server_errors() == [], live_api.server_errors()
    reconciled = live_api.cli("reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: abc\r\n",
        b"Content-Length: 1, 2\r\n",
        b"Content-Length: 1\r\nContent-Length: 2\r\n",
        b"Transfer-Encoding: chunked\r\n",  # followed by a chunk size that is no number
    ],
)
def test_framing_the_parser_cannot_read_is_a_problem_document(live_api: LiveApi, framing: bytes) -> None:
    """uvicorn refuses these before the app runs; `fieldproof serve` answers its 400 as
    problem+json too (backend/core/http/framing.py), never as plain text (issue 15, defect 11)."""
    host, port = live_api.url.removeprefix("http://").split(":")
    request = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing + b"\r\nzz\r\n{}"
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert headers["content-type"] == "application/problem+json"
    assert headers["content-language"] == "zh-CN"
    problem = json.loads(body)
    assert (problem["type"], problem["status"]) == ("/problems/malformed-request", 400)
    assert problem["title"] == "请求格式错误"
