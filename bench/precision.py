"""Reduced precision: bf16 autocast for training and scoring (``train.precision``).

``fp32`` (the default) runs every op in float32, exactly as before the option
existed. ``bf16`` runs the forward pass (and the loss) under
``torch.autocast(device_type, dtype=torch.bfloat16)``: convolutions and
matmuls compute in bfloat16, weights and optimizer state stay float32, and
the backward pass follows the forward's dtypes. bf16 has float32's exponent
range, so no loss scaling is needed. It pays on CPUs with AVX-512 BF16 / AMX
and on GPUs from Ampere on.
"""

from __future__ import annotations

import torch

PRECISIONS: tuple[str, ...] = ("fp32", "bf16")


def autocast(device: torch.device | str, precision: str) -> torch.autocast:
    """The autocast context of ``precision`` on ``device`` (disabled, i.e. plain float32, for ``fp32``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}; allowed: {', '.join(PRECISIONS)}")
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16")
