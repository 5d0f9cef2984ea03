"""schemathesis against the app's own OpenAPI, in-process (ASGI), on a throw-away copy of the demo
map: every operation gets a bounded, derandomized set of generated requests (valid and not) and
none may answer a server error (issue 12). Pushes are sent with the token, to the copy."""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from web_fixtures import TOKEN

from web.app import create_app
from web.settings import WebSettings

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo.gpkg"
MAX_EXAMPLES = 20  # per operation and generation mode (valid / invalid requests)
BUDGET_S = 90.0  # the whole run (the target is well under a minute)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_schemathesis_finds_no_server_error(tmp_path):
    path = Path(shutil.copy(DEMO, tmp_path / "demo.gpkg"))
    app = create_app(path, WebSettings(api_token=TOKEN))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    started = time.perf_counter()
    errors: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 10  # the whole API, not an empty schema

    for op, mode in itertools.product(operations, GenerationMode):

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,  # a fixed seed: the same cases on every run and in CI
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: report what was found
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call(headers=AUTH)
            if response.status_code >= 500:
                errors.append(
                    f"{case.method} {case.path} → {response.status_code}: "
                    f"{response.text[:300]}\n  {case.as_curl_command()}"
                )

        try:
            run()
        except Unsatisfiable:  # no invalid request exists (an operation without input)
            assert mode is GenerationMode.NEGATIVE, f"no valid request for {op.path}"
        assert time.perf_counter() - started < BUDGET_S, f"over the time budget at {op.path}"
    assert not errors, "\n".join(errors)
