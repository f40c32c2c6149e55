"""Every result.json written in this test process is validated against schemas/result.schema.json."""

from tests.schema_check import result_json_follows_its_schema  # noqa: F401  (an autouse fixture)
