"""What the UNet is conditioned on, as rows: one per image (or per caption), whatever the family.

SD 1.x/2.x condition on the text encoder's hidden states alone; SDXL adds "added conditions" (the
second text encoder's pooled embedding and the size/crop time ids) that go to the UNet as
`added_cond_kwargs`. The family that encodes a prompt fills both; trainer and sampler only move rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch


@dataclass
class Conditioning:
    hidden: torch.Tensor  # (rows, tokens, width): encoder_hidden_states
    added: dict[str, torch.Tensor] = field(default_factory=dict)  # each (rows, ...): added_cond_kwargs

    @property
    def rows(self) -> int:
        return self.hidden.shape[0]

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Conditioning:
        return Conditioning(fn(self.hidden), {k: fn(v) for k, v in self.added.items()})

    def repeat_rows(self, counts: Sequence[int]) -> Conditioning:
        """Row k repeated counts[k] times, in order."""
        repeats = torch.tensor(list(counts), device=self.hidden.device)
        return self.map(lambda t: t.repeat_interleave(repeats, dim=0))

    def zero_rows(self, mask: Sequence[bool]) -> Conditioning:
        """Rows where mask is true replaced by zeros (SDXL's unconditional rows for an empty prompt)."""
        keep = torch.tensor([not m for m in mask], device=self.hidden.device)

        def zeroed(t: torch.Tensor) -> torch.Tensor:
            return t * keep.view(-1, *([1] * (t.ndim - 1))).to(t.dtype)

        return self.map(zeroed)

    @staticmethod
    def cat(parts: Sequence[Conditioning]) -> Conditioning:
        return Conditioning(
            torch.cat([p.hidden for p in parts]),
            {k: torch.cat([p.added[k] for p in parts]) for k in parts[0].added},
        )

    def unet_kwargs(self) -> dict[str, object]:
        """Keyword arguments of `UNet2DConditionModel.forward` (besides sample and timestep)."""
        kwargs: dict[str, object] = {"encoder_hidden_states": self.hidden}
        if self.added:
            kwargs["added_cond_kwargs"] = self.added
        return kwargs
