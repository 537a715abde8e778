"""The reference baseline: data, model, loop. Needs the ``train`` extra (PyTorch)."""

from __future__ import annotations

from medata.errors import UsageError


def require_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("this command needs PyTorch: pip install 'medata[train]'") from None
