"""Model registries a target declares (`models:`), and what model faults do to them.

- `file_registry.py`: the file registry (manifest + artifacts, atomic writes);
- `kinds.py`: the registry kinds a target file may declare (one today: `file`);
- `corruption.py`: how an artifact's bytes go bad (bit flips, truncation, garbage);
- `faulty.py`: a library of bad artifacts to push (`index.json`);
- `undo.py`, `outage.py`: what a fault changed, kept so that any process can undo it;
- `heal.py`: `heal_registry`, the hook `failover heal` calls;
- `stack_registry.py`: the per-stack writable copy of `fixtures/models`.

The fault classes themselves are in `harness/faults/model.py`.
"""
