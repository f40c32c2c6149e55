"""Registry kinds a target's `models:` may declare: the config model of each and how it opens.

Adding a kind (MLflow, say) is one module with a `Strict` config model that
has `kind: Literal["mlflow"]`, `absolute(folder)`, `open()` and `describe()`,
plus adding it to `RegistryConfig`:
`Annotated[FileRegistryConfig | MlflowRegistryConfig, Field(discriminator="kind")]`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from harness.models.file_registry import FileRegistry
from harness.units import Strict


def _given(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise ValueError(
            "empty path: is the variable it names set? (the harness sets FAILOVER_REGISTRY for its stacks)"
        )
    return value


class FileRegistryConfig(Strict):
    """A folder with manifest.json and the artifacts (`harness/models/file_registry.py`)."""

    kind: Literal["file"]
    path: Annotated[Path, BeforeValidator(_given)] = Field(examples=["${FAILOVER_REGISTRY}"])
    """The registry folder on this host; relative to the target file."""

    def absolute(self, folder: Path) -> FileRegistryConfig:
        return self.model_copy(update={"path": (folder / self.path).resolve()})

    def open(self) -> FileRegistry:
        return FileRegistry(self.path)

    def describe(self) -> str:
        return f"file registry {self.path}"


RegistryConfig = FileRegistryConfig
"""Every registry kind (one today: a union of the kinds, discriminated by `kind`, with more)."""
