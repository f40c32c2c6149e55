"""Every result.json written in this test process is validated against schemas/result.schema.json."""

from tests.schema_check import (  # noqa: F401  (autouse fixtures)
    index_json_follows_its_schema,
    result_json_follows_its_schema,
)
