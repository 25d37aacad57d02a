"""Writes lib/src/main/resources/diffusionkit/models/fused_ops.pt: a TorchScript module whose methods are PyTorch's own
fused group norm and SiLU (forward and backward), which DJL's API lacks. diffusionkit.models.FusedOps loads it.

The archive is a zip of TorchScript source (code/__torch__.py: the methods below, as text) and two tiny pickles; PyTorch
compiles the source when it loads the file, so the same file serves every PyTorch version from 1.13 on, on the CPU and
on a GPU (the methods have no parameters: they run on their inputs' device).

Usage (Debian's python3-torch): /usr/bin/python3 environment/reference/make_fused_ops.py [OUT]
"""
import sys

import torch
import torch.nn.functional as F


class FusedOps(torch.nn.Module):
    def forward(self, x):
        return F.silu(x)

    @torch.jit.export
    def silu(self, x):
        return F.silu(x)

    @torch.jit.export
    def group_norm(self, x, weight, bias, groups: int, eps: float):
        return F.group_norm(x, groups, weight, bias, eps)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "lib/src/main/resources/diffusionkit/models/fused_ops.pt"
    torch.jit.script(FusedOps()).save(out)
    print("wrote", out, "with torch", torch.__version__)
