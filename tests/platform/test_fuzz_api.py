"""Schemathesis against the running platform's `/openapi.json`: every operation, with inputs
generated from its documented schema (valid and invalid ones, the documented examples, edge
cases, and stateful sequences that follow the links between operations), as an admin.

Checked: no 5xx; every status code, content type, header and response body as documented;
invalid input refused; routes needing a token refuse a request without one. Not checked:
that every schema-valid input is accepted (`positive_data_acceptance`): the services check
more than a JSON Schema can say (a region or theme that exists, a location inside
Saxony-Anhalt, no NUL character, a token's signature, a reason when rejecting), and answer
422/400 with field messages then.

Bounded: FUZZ_EXAMPLES examples per operation and phase (default 10, about a minute here);
FUZZ_SEED repeats a run (default: a fixed seed, so CI is reproducible)."""
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.databases import fresh_database
from tests.platform.test_make_run import kosi_run

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("FUZZ_SEED", "20261203"))
UNLIMITED = "1000000"


def test_every_operation_as_documented_under_generated_input(rabbit_config, rabbit_uri, tmp_path):
    # production's database; the abuse limits lifted, or most writes would only meet a 429
    settings = dict(CATALOG_DATABASE_URL=fresh_database("kosi_test_fuzz_catalog"),
                    SURVEY_DATABASE_URL=fresh_database("kosi_test_fuzz_survey"),
                    NOTIFY_DATABASE_URL=fresh_database("kosi_test_fuzz_notify"),
                    **{f"GATEWAY_{limit}": UNLIMITED for limit in (
                        "PUBLIC_WRITES_PER_WINDOW", "SUBSCRIPTIONS_PER_WINDOW", "SEARCHES_PER_WINDOW",
                        "SUGGESTIONS_PER_WINDOW", "PARTICIPATION_PER_CLIENT", "PARTICIPATION_PER_SURVEY")})
    with kosi_run(rabbit_uri, tmp_path, **settings) as (base, env):
        token = subprocess.run([sys.executable, "-m", "cli.main", "token", "--role", "admin", "--role", "editor",
                                "--ttl", "3600"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert token.returncode == 0, token.stderr
        assert requests.get(f"{base}/openapi.json", timeout=10).status_code == 200
        fuzz = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", f"{base}/openapi.json",
             "--header", f"Authorization: Bearer {token.stdout.strip()}",
             "--checks", "all", "--exclude-checks", "positive_data_acceptance",
             "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--request-timeout", "20",
             "--workers", "1"],
            cwd=tmp_path, env={**env, "NO_COLOR": "1"}, capture_output=True, text=True, timeout=900)
        print(fuzz.stdout[-1500:])
        failures = fuzz.stdout[fuzz.stdout.find("FAILURES"):][:20000]
        errors = [line for line in (tmp_path / "run.log").read_text().splitlines()
                  if "unexpected error" in line or "Traceback" in line]
        assert fuzz.returncode == 0, failures + fuzz.stderr[-3000:] + "\n".join(errors[-20:])
        assert "Tested: " in fuzz.stdout
