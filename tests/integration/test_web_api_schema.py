"""The JSON API against its own OpenAPI document (schemathesis), over corpus data: every operation, with bounded
generated examples, answers without a server error, with a documented status and a body of the documented shape."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.integration.webapp import fill, make_app, open_corpus


@pytest.fixture
def api_schema(cli, server, env, tmp_path, db_url):
    if "postgresql" in db_url:
        pytest.skip("one database is enough for the API's shape; test_web.py runs every operation on both")
    fill(cli, server)
    for corpus in open_corpus(env, tmp_path / "data"):
        yield schemathesis.openapi.from_asgi("/openapi.json", make_app(corpus))


def test_api_conforms_to_its_openapi_document(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)  # fmt: skip
        def check(case: schemathesis.Case) -> None:
            # Schema-valid is not always meaningful (a page cursor must come from a previous page, a time zone must
            # exist): those get a 400 with one line, so the "valid data is accepted" check is left out.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
