#!/usr/bin/python3
"""An eager-PyTorch twin of diffusers' UNet2DModel (v0.31.0), the reference side of `./kit benchmark --compare`.

The kit's Java UNet2DModel (diffusionkit.models.UNet2DModel, on DJL's PyTorch engine) is timed by
`./kit benchmark`; this script times the same model, built from the same config, as plain eager PyTorch does it,
so that the two can be compared op for op on the same machine, with the same thread count and the same glibc
settings (the Java side runs it as a subprocess and reads its last stdout line as JSON).

The model below is written from diffusers' v0.31.0 sources (UNet2DModel, DownBlock2D, AttnDownBlock2D, UpBlock2D,
AttnUpBlock2D, UNetMidBlock2D, ResnetBlock2D, Downsample2D, Upsample2D, Attention with the float32 AttnProcessor,
Timesteps, TimestepEmbedding), with diffusers' parameter names, so a diffusers folder's
diffusion_pytorch_model.safetensors loads into it with load_state_dict(strict=True). diffusers itself is not
needed: `verify` proves the twin against outputs that real diffusers 0.31.0 wrote (lib/src/test/resources/vectors).
Supported configs: down blocks DownBlock2D / AttnDownBlock2D, up blocks UpBlock2D / AttnUpBlock2D, any
block_out_channels, layers_per_block, norm_num_groups, norm_eps, attention_head_dim (null = one head per block),
attn_norm_num_groups, dropout, mid_block_scale_factor, center_input_sample, downsample_padding, positional time
embedding (flip_sin_to_cos, freq_shift), act_fn silu/swish, mid block attention on or off (add_attention). Anything
else (class embeddings, fourier time embedding, scale-shift resnets, resnet up/down sampling, skip blocks, ...) is
refused with an error naming the field. Legacy attention names (query/key/value/proj_attn) are not converted.

Attention is diffusers' AttnProcessor (the eager one diffusers uses where F.scaled_dot_product_attention does
not exist, as in torch 1.13): scores = baddbmm(q, k^T, beta=0, alpha=1/sqrt(head_dim)), softmax in float32,
bmm with v.

Needs only Debian's python3-torch (1.13) and python3-numpy; safetensors files are read with struct + numpy.
Run it with one thread on a shared machine (OMP_NUM_THREADS=1 and --threads 1):

    # reproduce diffusers' outputs (io.safetensors cases; grad_input.safetensors where present), tolerance 1e-4
    OMP_NUM_THREADS=1 /usr/bin/python3 environment/reference/unet_eager.py verify \\
        lib/src/test/resources/vectors/unet_a lib/src/test/resources/vectors/unet_b

    # the cases of `./kit benchmark` (BenchmarkCommand.java), a matmul probe, optional sampling loops
    OMP_NUM_THREADS=1 /usr/bin/python3 environment/reference/unet_eager.py bench --threads 1 --warmup 2 --runs 5 \\
        [--only unet_b|rgb32] [--sampling] [--json]

    # smoke test of the bench code path (batch sizes / 20, at least 1): under a minute
    OMP_NUM_THREADS=1 /usr/bin/python3 environment/reference/unet_eager.py bench --threads 1 --warmup 0 --runs 1 \\
        --tiny --sampling --json
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# ------------------------------------------------------------------------------------------------ safetensors I/O

# safetensors dtype -> (numpy dtype of the raw little-endian bytes, bytes per element). BF16 is read as uint16 and
# widened to float32 (its bits are the upper half of a float32); every floating dtype is loaded as float32, as
# diffusers does when it loads a checkpoint into a float32 model.
_DTYPES = {"F64": ("<f8", 8), "F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2),
           "I64": ("<i8", 8), "I32": ("<i4", 4), "I16": ("<i2", 2), "I8": ("i1", 1), "U8": ("u1", 1),
           "BOOL": ("?", 1)}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file: {name: torch tensor}, the header's __metadata__ (or {})."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    n = struct.unpack("<Q", raw[:8])[0]
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file ({len(raw)} bytes)")
    header = json.loads(raw[8:8 + n])
    data = memoryview(raw)[8 + n:]
    out, metadata = {}, header.pop("__metadata__", None) or {}
    for name, info in header.items():
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {info['dtype']}, which this reader does not know")
        np_dtype, size = _DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if not 0 <= start <= end <= len(data) or end - start != count * size:
            raise ValueError(f"{path}: tensor {name!r} has data_offsets {info['data_offsets']} that do not fit "
                             f"its shape {info['shape']} x {size} bytes inside the {len(data)}-byte data section")
        a = np.frombuffer(data[start:end], dtype=np_dtype, count=count).reshape(info["shape"])
        if info["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in ("F16", "F64"):
            a = a.astype(np.float32)
        out[name] = torch.from_numpy(np.array(a, dtype=a.dtype.newbyteorder("=")))  # a native-order copy
    return out, metadata


# ---------------------------------------------------------------------------------------------------- the config

# diffusers v0.31.0 UNet2DModel.__init__ keys and their defaults (keys a config leaves out take these).
DEFAULTS = {
    "sample_size": None, "in_channels": 3, "out_channels": 3, "center_input_sample": False,
    "time_embedding_type": "positional", "freq_shift": 0, "flip_sin_to_cos": True,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
    "block_out_channels": [224, 448, 672, 896], "layers_per_block": 2, "mid_block_scale_factor": 1,
    "downsample_padding": 1, "downsample_type": "conv", "upsample_type": "conv", "dropout": 0.0, "act_fn": "silu",
    "attention_head_dim": 8, "norm_num_groups": 32, "attn_norm_num_groups": None, "norm_eps": 1e-5,
    "resnet_time_scale_shift": "default", "add_attention": True, "class_embed_type": None, "num_class_embeds": None,
    "num_train_timesteps": None,
}
# Keys whose only supported value is diffusers' default (the others are free, within the checks of resolve()).
_FIXED = ("time_embedding_type", "resnet_time_scale_shift", "downsample_type", "upsample_type", "class_embed_type",
          "num_class_embeds")


def resolve(config):
    """The config with diffusers' defaults filled in; ValueError naming the first field this twin cannot build."""
    c = dict(DEFAULTS)
    for k, v in config.items():
        if k.startswith("_"):
            continue  # _class_name, _diffusers_version, ...
        if k not in DEFAULTS:
            print(f"unet_eager: config key {k!r} is not a UNet2DModel v0.31 argument; ignored (as diffusers does)",
                  file=sys.stderr)
            continue
        c[k] = v

    def refuse(key, supported):
        raise ValueError(f"UNet2DModel config: {key!r} = {json.dumps(c[key])} is not supported by unet_eager.py; "
                         f"supported: {supported}")

    for k in _FIXED:
        if c[k] != DEFAULTS[k]:
            refuse(k, json.dumps(DEFAULTS[k]))
    if c["act_fn"] not in ("silu", "swish"):
        refuse("act_fn", '"silu" (or its alias "swish")')
    for key, allowed in (("down_block_types", ("DownBlock2D", "AttnDownBlock2D")),
                         ("up_block_types", ("UpBlock2D", "AttnUpBlock2D"))):
        for i, t in enumerate(c[key]):
            if t not in allowed:
                raise ValueError(f"UNet2DModel config: {key}[{i}] = {t!r} is not supported by unet_eager.py; "
                                 f"supported: {list(allowed)}")
    boc = list(c["block_out_channels"])
    if not len(boc) == len(c["down_block_types"]) == len(c["up_block_types"]):
        raise ValueError("UNet2DModel config: 'block_out_channels', 'down_block_types' and 'up_block_types' must "
                         f"have the same length (got {len(boc)}, {len(c['down_block_types'])}, "
                         f"{len(c['up_block_types'])})")
    if c["norm_num_groups"] is None:
        refuse("norm_num_groups", "a group count (diffusers' down blocks need one)")
    if c["layers_per_block"] < 1:
        refuse("layers_per_block", "1 or more")
    hd = c["attention_head_dim"]
    if hd is not None:
        # heads = channels // head_dim (diffusers' rule): a block narrower than one head would have none
        widths = [boc[i] for i, t in enumerate(c["down_block_types"]) if t.startswith("Attn")]
        widths += [boc[-1 - i] for i, t in enumerate(c["up_block_types"]) if t.startswith("Attn")]
        widths += [boc[-1]] if c["add_attention"] else []
        if widths and min(widths) < hd:
            refuse("attention_head_dim", f"a head size no larger than the narrowest attention block ({min(widths)})")
    if isinstance(c["sample_size"], (list, tuple)) and len(c["sample_size"]) != 2:
        refuse("sample_size", "an int or [height, width]")
    return c


# ----------------------------------------------------------------------------------------------------- the model

class FlopCounter:
    """Counts the floating-point operations of forward passes: 2 x multiply-adds of every Conv2d and Linear (biases
    ignored) from forward hooks, plus the two attention matmuls (q @ k^T and probs @ v: 2 * b * heads * L * L *
    head_dim each), which Attention reports itself. Use as `with FlopCounter(model) as fc: model(x, t)`."""

    def __init__(self, model):
        self.model, self.flops, self.handles = model, 0, []

    def _hook(self, module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            self.flops += 2 * output.numel() * k
        else:  # nn.Linear: output.numel() = rows * out_features
            self.flops += 2 * output.numel() * module.in_features

    def __enter__(self):
        for m in self.model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                self.handles.append(m.register_forward_hook(self._hook))
            if isinstance(m, Attention):
                m.flop_counter = self
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        for m in self.model.modules():
            if isinstance(m, Attention):
                m.flop_counter = None


class ResnetBlock2D(nn.Module):
    """diffusers' ResnetBlock2D with time_embedding_norm "default" (temb added after conv1)."""

    def __init__(self, cin, cout, temb, groups, eps, dropout, output_scale_factor=1.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=1, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps, affine=True)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1, stride=1, padding=0) if cin != cout else None
        self.output_scale_factor = output_scale_factor

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        out = x + h
        return out if self.output_scale_factor == 1 else out / self.output_scale_factor


class Attention(nn.Module):
    """diffusers' Attention as the UNet2D blocks build it (group norm, biases, residual connection, upcast
    softmax), run by the eager AttnProcessor."""

    def __init__(self, channels, heads, dim_head, groups, eps, rescale_output_factor=1.0):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        self.scale = dim_head ** -0.5
        inner = heads * dim_head  # diffusers' inner_dim (= channels when the head size divides them)
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps, affine=True)
        self.to_q = nn.Linear(channels, inner)
        self.to_k = nn.Linear(channels, inner)
        self.to_v = nn.Linear(channels, inner)
        self.to_out = nn.ModuleList([nn.Linear(inner, channels), nn.Dropout(0.0)])
        self.rescale_output_factor = rescale_output_factor
        self.flop_counter = None

    def _heads_to_batch(self, t):  # [b, L, heads * d] -> [b * heads, L, d]
        b, n, _ = t.shape
        return t.reshape(b, n, self.heads, self.dim_head).permute(0, 2, 1, 3).reshape(b * self.heads, n, self.dim_head)

    def forward(self, x):
        residual = x
        b, c, h, w = x.shape
        s = x.view(b, c, h * w).transpose(1, 2)
        s = self.group_norm(s.transpose(1, 2)).transpose(1, 2)
        q = self._heads_to_batch(self.to_q(s))
        k = self._heads_to_batch(self.to_k(s))
        v = self._heads_to_batch(self.to_v(s))
        # Attention.get_attention_scores: baddbmm into an uninitialised tensor with beta 0, then softmax in float32
        scores = torch.baddbmm(torch.empty(q.shape[0], q.shape[1], k.shape[1], dtype=q.dtype, device=q.device),
                               q, k.transpose(-1, -2), beta=0, alpha=self.scale)
        probs = scores.float().softmax(dim=-1).to(q.dtype)
        o = torch.bmm(probs, v)
        if self.flop_counter is not None:
            n = h * w
            self.flop_counter.flops += 2 * (2 * b * self.heads * n * n * self.dim_head)
        o = o.reshape(b, self.heads, h * w, self.dim_head).permute(0, 2, 1, 3).reshape(b, h * w, -1)
        o = self.to_out[1](self.to_out[0](o))
        o = o.transpose(-1, -2).reshape(b, c, h, w) + residual
        return o if self.rescale_output_factor == 1 else o / self.rescale_output_factor


class Downsample2D(nn.Module):
    """Conv with stride 2 (diffusers' name "op" keeps the parameter as `conv`)."""

    def __init__(self, channels, padding):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1), mode="constant", value=0)
        return self.conv(x)


class Upsample2D(nn.Module):
    """Nearest x2, then a 3x3 conv."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        if x.shape[0] >= 64:
            x = x.contiguous()  # as diffusers (upsample_nearest_nhwc with large batches, diffusers issue 984)
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _heads(channels, head_dim):
    """(heads, dim_head) as UNet2DModel passes them: head_dim null means one head of all channels."""
    d = channels if head_dim is None else head_dim
    return channels // d, d


class DownBlock(nn.Module):
    """DownBlock2D (attn=False) and AttnDownBlock2D (attn=True)."""

    def __init__(self, c, cin, cout, attn, add_downsample):
        super().__init__()
        groups, eps, temb = c["norm_num_groups"], c["norm_eps"], c["block_out_channels"][0] * 4
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, temb, groups, eps, c["dropout"])
                                      for i in range(c["layers_per_block"])])
        if attn:
            heads, d = _heads(cout, c["attention_head_dim"])
            self.attentions = nn.ModuleList([Attention(cout, heads, d, groups, eps)
                                             for _ in range(c["layers_per_block"])])
        else:
            self.attentions = None
        self.downsamplers = nn.ModuleList([Downsample2D(cout, c["downsample_padding"])]) if add_downsample else None

    def forward(self, x, temb):
        states = []
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x)
            states.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            states.append(x)
        return x, states


class UpBlock(nn.Module):
    """UpBlock2D (attn=False) and AttnUpBlock2D (attn=True): layers_per_block + 1 resnets, each fed the previous
    output concatenated with one skip connection (the last one from the level below, width cin)."""

    def __init__(self, c, cin, cprev, cout, attn, add_upsample):
        super().__init__()
        groups, eps, temb = c["norm_num_groups"], c["norm_eps"], c["block_out_channels"][0] * 4
        n = c["layers_per_block"] + 1
        self.resnets = nn.ModuleList([
            ResnetBlock2D((cprev if i == 0 else cout) + (cin if i == n - 1 else cout), cout, temb, groups, eps,
                          c["dropout"]) for i in range(n)])
        if attn:
            heads, d = _heads(cout, c["attention_head_dim"])
            self.attentions = nn.ModuleList([Attention(cout, heads, d, groups, eps) for _ in range(n)])
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_upsample else None

    def forward(self, x, skips, temb):
        for i, resnet in enumerate(self.resnets):
            x = resnet(torch.cat([x, skips.pop()], dim=1), temb)
            if self.attentions is not None:
                x = self.attentions[i](x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class MidBlock(nn.Module):
    """UNetMidBlock2D: resnet, attention (when add_attention), resnet; all scaled by mid_block_scale_factor."""

    def __init__(self, c):
        super().__init__()
        ch, eps, temb = c["block_out_channels"][-1], c["norm_eps"], c["block_out_channels"][0] * 4
        groups, scale = c["norm_num_groups"], float(c["mid_block_scale_factor"])
        attn_groups = c["attn_norm_num_groups"] if c["attn_norm_num_groups"] is not None else groups
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, temb, groups, eps, c["dropout"], scale)
                                      for _ in range(2)])
        if c["add_attention"]:
            heads, d = _heads(ch, c["attention_head_dim"])
            self.attentions = nn.ModuleList([Attention(ch, heads, d, attn_groups, eps, scale)])
        else:
            self.attentions = None

    def forward(self, x, temb):
        x = self.resnets[0](x, temb)
        if self.attentions is not None:
            x = self.attentions[0](x)
        return self.resnets[1](x, temb)


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


def timestep_embedding(t, dim, flip_sin_to_cos, shift, max_period=10000):
    """diffusers' get_timestep_embedding (same operation order, float32)."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(0, half, dtype=torch.float32, device=t.device)
    exponent = exponent / (half - shift)
    e = t[:, None].float() * torch.exp(exponent)[None, :]
    e = torch.cat([torch.sin(e), torch.cos(e)], dim=-1)
    if flip_sin_to_cos:
        e = torch.cat([e[:, half:], e[:, :half]], dim=-1)
    if dim % 2 == 1:
        e = F.pad(e, (0, 1, 0, 0))
    return e


class UNet2DModel(nn.Module):
    """diffusers' UNet2DModel for the configs resolve() accepts; forward(sample, timestep) -> the output sample."""

    def __init__(self, config):
        super().__init__()
        c = self.config = resolve(config)
        boc = list(c["block_out_channels"])
        self.conv_in = nn.Conv2d(c["in_channels"], boc[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(boc[0], boc[0] * 4)
        self.down_blocks = nn.ModuleList()
        cout = boc[0]
        for i, kind in enumerate(c["down_block_types"]):
            cin, cout = cout, boc[i]
            self.down_blocks.append(DownBlock(c, cin, cout, kind.startswith("Attn"), i < len(boc) - 1))
        self.mid_block = MidBlock(c)
        self.up_blocks = nn.ModuleList()
        rev = boc[::-1]
        cout = rev[0]
        for i, kind in enumerate(c["up_block_types"]):
            cprev, cout, cin = cout, rev[i], rev[min(i + 1, len(boc) - 1)]
            self.up_blocks.append(UpBlock(c, cin, cprev, cout, kind.startswith("Attn"), i < len(boc) - 1))
        self.conv_norm_out = nn.GroupNorm(c["norm_num_groups"], boc[0], eps=c["norm_eps"])
        self.conv_out = nn.Conv2d(boc[0], c["out_channels"], 3, padding=1)

    def forward(self, sample, timestep):
        c = self.config
        if c["center_input_sample"]:
            sample = 2 * sample - 1.0
        t = timestep if torch.is_tensor(timestep) else torch.tensor([timestep], dtype=torch.long)
        t = t[None] if t.dim() == 0 else t
        t = t.to(sample.device) * torch.ones(sample.shape[0], dtype=t.dtype, device=sample.device)  # broadcast
        temb = timestep_embedding(t, c["block_out_channels"][0], c["flip_sin_to_cos"], c["freq_shift"])
        temb = self.time_embedding(temb.to(sample.dtype))
        x = self.conv_in(sample)
        skips = [x]
        for block in self.down_blocks:
            x, states = block(x, temb)
            skips += states
        x = self.mid_block(x, temb)
        for block in self.up_blocks:
            n = len(block.resnets)
            x = block(x, skips[-n:], temb)
            skips = skips[:-n]
        return self.conv_out(F.silu(self.conv_norm_out(x)))


def build(config):
    """A randomly initialised UNet2DModel twin for a diffusers config dict (ValueError for unsupported fields)."""
    return UNet2DModel(config)


def load_folder(folder):
    """The twin of a diffusers UNet2DModel folder (config.json + diffusion_pytorch_model.safetensors), eval mode."""
    with open(os.path.join(folder, "config.json")) as f:
        model = build(json.load(f))
    weights, _ = read_safetensors(os.path.join(folder, "diffusion_pytorch_model.safetensors"))
    model.load_state_dict(weights, strict=True)
    return model.eval()


# ---------------------------------------------------------------------------------------------------------- verify

def verify(folders, tol=1e-4):
    """Each folder's io.safetensors cases (<case>/sample, <case>/timestep -> <case>/out_sample) must agree within
    tol (absolute); where grad_input.safetensors exists, d mean((out - target)^2) / d sample must agree within
    tol * max|reference gradient| (the vectors' README: gradients are compared relatively)."""
    ok = True
    for folder in folders:
        model = load_folder(folder)
        io, _ = read_safetensors(os.path.join(folder, "io.safetensors"))
        cases = sorted(k[:-len("sample")] for k in io if k.endswith("sample") and not k.endswith("out_sample"))
        worst, names = 0.0, []
        with torch.no_grad():
            for p in cases:
                if p + "class_labels" in io:
                    raise ValueError(f"{folder}: case {p!r} has class labels; class embeddings are not supported")
                out = model(io[p + "sample"], io[p + "timestep"])
                worst = max(worst, (out - io[p + "out_sample"]).abs().max().item())
                names.append(p.rstrip("/") or "(unnamed)")
        line = f"{folder}: max |twin - diffusers| = {worst:.3g} over {len(cases)} cases ({', '.join(names)})"
        ok &= bool(cases) and worst < tol
        grad_path = os.path.join(folder, "grad_input.safetensors")
        if os.path.exists(grad_path):
            g, _ = read_safetensors(grad_path)
            x = g["sample"].clone().requires_grad_(True)
            out = model(x, g["timestep"])
            loss = F.mse_loss(out, g["target"])
            loss.backward()
            rel = ((x.grad - g["grad_sample"]).abs().max() / g["grad_sample"].abs().max()).item()
            dout = (out.detach() - g["out_sample"]).abs().max().item()
            dloss = abs(loss.item() - g["loss"].item())
            line += f"; grad_input: |d out| {dout:.3g}, |d loss| {dloss:.3g}, grad rel diff {rel:.3g}"
            ok &= dout < tol and dloss < 1e-5 and rel < tol
        print(line, flush=True)
    print("verify: " + ("PASS" if ok else f"FAIL (tolerance {tol})"), flush=True)
    return ok


# ------------------------------------------------------------------------------------------------------- benchmark

def config_of(**changes):
    """diffusers' defaults (= the kit's UNet2DConfig.defaults()) with some keys changed."""
    c = dict(DEFAULTS)
    c.update(changes)
    return c


# The course's class-conditioned MNIST UNet: ClassConditionedUNet.courseUNetConfig(4) (= vectors/unet_b/config.json).
UNET_B = config_of(sample_size=28, in_channels=5, out_channels=1, layers_per_block=2, block_out_channels=[32, 64, 64],
                   down_block_types=["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
                   up_block_types=["AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"])
# BenchmarkCommand.rgb32(): defaults (norm 32 groups, head dim 8, eps 1e-5, ...) with these changes.
RGB32 = config_of(sample_size=32, in_channels=3, out_channels=3, block_out_channels=[64, 128, 128, 256],
                  layers_per_block=2,
                  down_block_types=["DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
                  up_block_types=["AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"])


def cpu_report():
    """Prints (to stderr) which CPU, whether it has AVX-512, torch's threads, the glibc malloc settings seen and
    torch's BLAS; returns the BLAS description."""
    model, avx512 = "unknown", False
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    avx512 = avx512 or "avx512f" in line.split(":", 1)[1].split()
    except OSError:
        pass
    malloc = {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"}
    print(f"cpu: {model}; avx512f: {'yes' if avx512 else 'no'}; {os.cpu_count()} logical cores", file=sys.stderr)
    print(f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads, "
          f"{torch.get_num_interop_threads()} inter-op; mkldnn {torch.backends.mkldnn.is_available()}, "
          f"mkl {torch.backends.mkl.is_available()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}",
          file=sys.stderr)
    print("glibc malloc settings: " + (", ".join(f"{k}={v}" for k, v in malloc.items()) or "none (glibc defaults)"),
          file=sys.stderr, flush=True)
    # Linear layers, the attention bmm's and the matmul probe run on torch's BLAS; convolutions on oneDNN (mkldnn).
    # Debian's python3-torch is built with BLAS_INFO=generic: it calls whatever libblas.so.3 the alternatives
    # system selects (the netlib reference BLAS unless OpenBLAS / BLIS is installed), which can be 10x slower.
    info = torch.__config__.show()
    blas = info.split("BLAS_INFO=", 1)[1].split(",", 1)[0] if "BLAS_INFO=" in info else "unknown"
    lib = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu"
    if blas == "generic" and os.path.exists(lib):
        blas += " -> " + os.path.realpath(lib)
        if "openblas" in blas:  # which kernels it runs: its own CPU detection, or OPENBLAS_CORETYPE's override
            try:
                import ctypes
                ob = ctypes.CDLL(os.path.realpath(lib))
                ob.openblas_get_corename.restype = ctypes.c_char_p
                ob.openblas_get_num_threads.restype = ctypes.c_int
                blas += (f" (OpenBLAS kernels {ob.openblas_get_corename().decode()}, "
                         f"{ob.openblas_get_num_threads()} threads; "
                         f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
            except (OSError, AttributeError):
                pass
    print(f"blas: {blas}", file=sys.stderr, flush=True)
    return blas


def timed(fn, warmup, runs):
    """{'median_s', 'min_s', 'cpu_s'} of fn over `runs` timed calls after `warmup` untimed ones; cpu_s is the
    median process CPU time (all threads), which shows when other processes competed for the cores."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"median_s": statistics.median(wall), "min_s": min(wall), "cpu_s": statistics.median(cpu),
            "runs_s": [round(s, 4) for s in wall]}


def forward_gflop(model, size):
    """GFLOP of one forward pass of one image (FlopCounter); every counted term is linear in the batch.

    Counts this gives: unet_b 0.6375 GFLOP per image = 51.0 GFLOP at batch 80 (the same as the earlier count of
    51.0; attention matmuls are 0.053 of it per image), rgb32 3.274 GFLOP per image = 261.9 at batch 80 (attention
    matmuls 0.012), emoji-base 0.764 per image."""
    with torch.no_grad(), FlopCounter(model) as fc:
        model(torch.zeros(1, model.config["in_channels"], size, size), torch.zeros(1, dtype=torch.long))
    return fc.flops / 1e9


def forward_case(model, batch, size):
    """As BenchmarkCommand.forward: fresh random inputs, inference without autograd."""
    def run():
        with torch.no_grad():
            x = torch.randn(batch, model.config["in_channels"], size, size)
            t = torch.randint(0, 1000, (batch,), dtype=torch.long)
            model(x, t)
    return run


def train_case(model, batch, size):
    """As BenchmarkCommand.trainStep: random input, target and timesteps; forward in train mode; MSE; backward; an
    Adam step (lr 1e-4; its own optimiser, kept across the runs); gradients zeroed in place (DJL's Adam update
    zeroes them too; torch 1.13's zero_grad default, set_to_none=False)."""
    adam = torch.optim.Adam(model.parameters(), lr=1e-4)
    c = model.config

    def run():
        x = torch.randn(batch, c["in_channels"], size, size)
        target = torch.randn(batch, c["out_channels"], size, size)
        t = torch.randint(0, 1000, (batch,), dtype=torch.long)
        loss = F.mse_loss(model(x, t), target)
        loss.backward()
        adam.step()
        adam.zero_grad()
    return run


def alphas_cumprod(n=1000):
    """squaredcos_cap_v2 (the course's scheduler): betas from the cosine alpha-bar, capped at 0.999."""
    def bar(u):
        return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = torch.tensor([min(1 - bar((i + 1) / n) / bar(i / n), 0.999) for i in range(n)], dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0)


def sampling_loop(model, batch, size, steps):
    """One deterministic DDIM loop (eta 0, "leading" spacing over 1000 training steps) of `steps` UNet forwards.
    When the UNet takes more channels than it predicts (unet_b: 1 image + 4 class channels), the extra input
    channels are a fixed conditioning tensor concatenated at every step, as the course's class-conditioned UNet
    does; the scheduler arithmetic is negligible next to the UNet."""
    c = model.config
    acp = alphas_cumprod()
    ts = [i * (1000 // steps) for i in range(steps)][::-1]

    def run():
        with torch.no_grad():
            x = torch.randn(batch, c["out_channels"], size, size)
            extra = c["in_channels"] - c["out_channels"]
            cond = torch.randn(batch, extra, size, size) if extra > 0 else None
            for i, t in enumerate(ts):
                inp = x if cond is None else torch.cat([x, cond], dim=1)
                eps = model(inp, torch.full((batch,), t, dtype=torch.long))
                a_t = acp[t].item()
                a_prev = acp[ts[i + 1]].item() if i + 1 < len(ts) else 1.0
                x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
                x = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
    return run


def bench(a):
    torch.manual_seed(0)
    blas = cpu_report()
    scale = 0.05 if a.tiny else a.batch_scale

    def bs(n):  # the batch size actually run (--tiny / --batch-scale shrink it, at least 1)
        return max(1, int(n * scale))

    cases, table = {}, []

    def record(name, nominal, batch, stats, gflop):  # name: the Java case name, with the nominal batch size
        stats["gflop"], stats["batch"] = round(gflop, 4), batch
        cases[name] = stats
        name += "" if batch == nominal else f" (ran bs{batch})"
        line = (f"{name:<34} median {stats['median_s']:8.3f} s  min {stats['min_s']:8.3f} s  "
                f"(process CPU median {stats['cpu_s']:8.3f} s; {gflop:8.2f} GFLOP/forward, "
                f"{gflop / stats['median_s']:6.1f} GFLOP/s fwd-equivalent; runs: {stats['runs_s']})")
        print(line, file=sys.stderr, flush=True)
        table.append(line)

    for key, config, size, fwd, trains in (("unet_b", UNET_B, 28, 80, (128, 32)), ("rgb32", RGB32, 32, 80, (128,))):
        if a.only and a.only != key:
            continue
        model = build(config)
        per_image = forward_gflop(model, size)
        model.eval()
        b = bs(fwd)
        record(f"{key} forward bs{fwd}", fwd, b, timed(forward_case(model, b, size), a.warmup, a.runs), per_image * b)
        model.train()
        for n in trains:
            b = bs(n)
            record(f"{key} train step bs{n}", n, b, timed(train_case(model, b, size), a.warmup, a.runs), per_image * b)
        del model

    # matmul probe: what torch's BLAS sgemm reaches with these threads (Linear layers and the attention matmuls run
    # on it; convolutions run on oneDNN, whose speed this does not measure)
    m1, m2 = torch.randn(2048, 2048), torch.randn(2048, 2048)
    mm = timed(lambda: m1 @ m2, max(1, a.warmup), max(3, a.runs))
    matmul_gflops = 2 * 2048 ** 3 / mm["median_s"] / 1e9
    print(f"matmul 2048: median {mm['median_s']:.4f} s = {matmul_gflops:.1f} GFLOP/s", file=sys.stderr, flush=True)
    table.append(f"{'matmul 2048':<34} median {mm['median_s']:8.4f} s  = {matmul_gflops:.1f} GFLOP/s")

    sampling = {}
    if a.sampling:
        with open(a.emoji_config) as f:
            emoji = json.load(f)
        for key, config, size in (("unet_b", UNET_B, 28), ("emoji-base", emoji, int(emoji.get("sample_size", 32)))):
            model = build(config).eval()
            for n in (1, 8, 80):
                b = bs(n)
                if a.warmup > 0:  # one untimed forward at this batch (allocator, kernels), not a whole loop
                    forward_case(model, b, size)()
                s = timed(sampling_loop(model, b, size, a.steps), 0, a.sampling_runs)
                sampling[f"{key} bs{n}"] = round(b / s["median_s"], 4)  # images per second
                name = f"sampling {key} bs{n}" + ("" if b == n else f" (ran bs{b})")
                line = (f"{name:<34} {a.steps} steps: median {s['median_s']:8.3f} s "
                        f"= {b / s['median_s']:8.3f} images/s (process CPU median {s['cpu_s']:.3f} s)")
                print(line, file=sys.stderr, flush=True)
                table.append(line)
            del model

    if a.json:
        out = {"engine": f"pytorch {torch.__version__}", "threads": torch.get_num_threads(),
               "cases": {k: {f: v[f] for f in ("median_s", "min_s", "cpu_s", "gflop", "batch")}
                         for k, v in cases.items()},
               "matmul_gflops": round(matmul_gflops, 2), "sampling": sampling, "blas": blas}
        if scale != 1:
            # a smoke run: the names keep the nominal batch sizes; "batch" (and gflop, images/s) are what ran
            out["batch_scale"] = scale
        print(json.dumps(out), flush=True)
    else:
        print(f"\nengine pytorch {torch.__version__}, {torch.get_num_threads()} threads; median seconds:")
        print("\n".join(table))
    return 0


# ------------------------------------------------------------------------------------------------------------ main

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="reproduce diffusers' outputs of vector folders (io.safetensors) to 1e-4")
    v.add_argument("folders", nargs="+", help="diffusers UNet2DModel folders with io.safetensors")
    v.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    b = sub.add_parser("bench", help="time the cases of ./kit benchmark in eager PyTorch")
    b.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    b.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    b.add_argument("--runs", type=int, default=5, help="timed runs (default 5)")
    b.add_argument("--only", choices=("unet_b", "rgb32"), help="one model's cases (default: both)")
    b.add_argument("--sampling", action="store_true",
                   help="also time 50-step sampling loops (unet_b, emoji-base; batch 1, 8, 80)")
    b.add_argument("--steps", type=int, default=50, help="UNet forwards per sampling loop (default 50)")
    b.add_argument("--sampling-runs", type=int, default=1, help="timed loops per sampling batch (default 1)")
    b.add_argument("--emoji-config", default=os.path.join(REPO, "datasets/models/emoji-base/unet/config.json"),
                   help=argparse.SUPPRESS)
    b.add_argument("--json", action="store_true", help="print one JSON object as the last stdout line")
    b.add_argument("--batch-scale", type=float, default=1.0, help=argparse.SUPPRESS)  # testing: shrink batches
    b.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # testing: --batch-scale 0.05
    a = p.parse_args()

    if a.threads is not None:
        torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)  # before any parallel work; the model runs one op at a time anyway
    if a.command == "verify":
        return 0 if verify(a.folders) else 1
    return bench(a)


if __name__ == "__main__":
    sys.exit(main())
