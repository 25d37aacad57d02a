#!/usr/bin/python3
"""An independent float64 reference for a CLIP folder in transformers' layout (CLIPModel: config.json +
model.safetensors), written from the architecture that transformers' CLIPModel implements, to check that a
kit-written CLIP (datasets/models/emoji-clip) means to transformers what it means to the kit.

It reads only the folder's config.json and model.safetensors (no transformers import: that package is not on this
machine), builds both towers in torch, float64:

  vision: patch_embedding (a convolution with stride = kernel = patch, no bias), flattened; class_embedding in
          front; + position_embedding; pre_layrnorm; encoder layers; pooled = the class position's state;
          post_layernorm; visual_projection (no bias)
  text:   token_embedding + position_embedding; encoder layers under a causal mask plus the padding mask;
          final_layer_norm; pooled = the state at the first end-of-text token (the highest id, 49407);
          text_projection (no bias)
  layer:  x + self_attn(layer_norm1(x)); then x + fc2(act(fc1(layer_norm2(x)))), act = config's hidden_act
          (quick_gelu: x * sigmoid(1.702 x)); attention: q, k, v, out projections with biases, heads of
          hidden_size / num_attention_heads, scores * head_dim^-0.5, softmax in float64

Checked against transformers itself: on the fixture clip_tiny (../shared/vectors/clip, whose outputs transformers
4.40's CLIPModel wrote) this script gives image_embeds within 1.8e-7 and text_embeds within 6.1e-7 of transformers':
  /usr/bin/python3 environment/reference/emoji_clip_reference.py lib/src/test/resources/vectors/clip/clip_tiny \
      lib/src/test/resources/vectors/clip/clip_tiny_io.safetensors /tmp/tiny_reference.safetensors

Usage (Debian's python3-torch): /usr/bin/python3 environment/reference/emoji_clip_reference.py FOLDER INPUTS OUT
  INPUTS: a safetensors file with pixel_values [B,3,S,S] float32 (already CLIP-normalised), input_ids [T,L] int64
          and attention_mask [T,L] int64
  OUT:    a safetensors file with those inputs (and their metadata) and image_embeds [B,P], text_embeds [T,P]
          (float32, from float64)
"""
import json
import math
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "F16": torch.float16}
NAMES = {v: k for k, v in DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def read_metadata(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)).get("__metadata__", {})


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        b = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    import os
    os.replace(path + ".tmp", path)


def activation(name):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return torch.nn.functional.gelu
    raise SystemExit(f"hidden_act {name} is not covered by this reference")


def encoder(h, w, prefix, cfg, mask):
    d = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    hd = d // heads
    eps = cfg.get("layer_norm_eps", 1e-5)
    act = activation(cfg.get("hidden_act", "quick_gelu"))
    b, n, _ = h.shape
    for i in range(cfg["num_hidden_layers"]):
        p = f"{prefix}.encoder.layers.{i}."
        lin = lambda x, name: x @ w[p + name + ".weight"].T + w[p + name + ".bias"]
        x = torch.nn.functional.layer_norm(h, (d,), w[p + "layer_norm1.weight"], w[p + "layer_norm1.bias"], eps)
        q, k, v = (lin(x, f"self_attn.{s}_proj").reshape(b, n, heads, hd).transpose(1, 2) for s in "qkv")
        scores = q @ k.transpose(-1, -2) * hd ** -0.5
        if mask is not None:
            scores = scores + mask
        a = torch.softmax(scores, dim=-1) @ v
        h = h + lin(a.transpose(1, 2).reshape(b, n, d), "self_attn.out_proj")
        x = torch.nn.functional.layer_norm(h, (d,), w[p + "layer_norm2.weight"], w[p + "layer_norm2.bias"], eps)
        h = h + lin(act(lin(x, "mlp.fc1")), "mlp.fc2")
    return h


def image_embeds(w, cfg, pixels):
    v = cfg["vision_config"]
    d = v["hidden_size"]
    eps = v.get("layer_norm_eps", 1e-5)
    pre = "vision_model"
    x = torch.nn.functional.conv2d(pixels, w[pre + ".embeddings.patch_embedding.weight"], stride=v["patch_size"])
    x = x.flatten(2).transpose(1, 2)
    cls = w[pre + ".embeddings.class_embedding"].expand(x.shape[0], 1, d)
    h = torch.cat([cls, x], dim=1) + w[pre + ".embeddings.position_embedding.weight"]
    h = torch.nn.functional.layer_norm(h, (d,), w[pre + ".pre_layrnorm.weight"], w[pre + ".pre_layrnorm.bias"], eps)
    h = encoder(h, w, pre, v, None)
    pooled = torch.nn.functional.layer_norm(h[:, 0], (d,), w[pre + ".post_layernorm.weight"],
                                            w[pre + ".post_layernorm.bias"], eps)
    return pooled @ w["visual_projection.weight"].T


def text_embeds(w, cfg, ids, attention):
    t = cfg["text_config"]
    d = t["hidden_size"]
    eps = t.get("layer_norm_eps", 1e-5)
    pre = "text_model"
    n = ids.shape[1]
    h = w[pre + ".embeddings.token_embedding.weight"][ids] + w[pre + ".embeddings.position_embedding.weight"][:n]
    neg = torch.finfo(torch.float64).min
    causal = torch.triu(torch.full((n, n), neg, dtype=torch.float64), diagonal=1)
    padding = (1.0 - attention[:, None, None, :].double()) * neg
    h = encoder(h, w, pre, t, (causal[None, None] + padding).clamp(min=neg))
    h = torch.nn.functional.layer_norm(h, (d,), w[pre + ".final_layer_norm.weight"], w[pre + ".final_layer_norm.bias"], eps)
    pooled = h[torch.arange(h.shape[0]), ids.argmax(dim=-1)]
    return pooled @ w["text_projection.weight"].T


def main():
    folder, inputs, out = sys.argv[1:4]
    cfg = json.load(open(folder + "/config.json"))
    w = {k: v.double() for k, v in read_safetensors(folder + "/model.safetensors").items()}
    x = read_safetensors(inputs)
    img = image_embeds(w, cfg, x["pixel_values"].double())
    txt = text_embeds(w, cfg, x["input_ids"], x["attention_mask"])
    write_safetensors(out, {"pixel_values": x["pixel_values"], "input_ids": x["input_ids"],
                            "attention_mask": x["attention_mask"], "image_embeds": img.float(),
                            "text_embeds": txt.float()},
                      dict(read_metadata(inputs), reference="environment/reference/emoji_clip_reference.py, float64, "
                           "torch " + torch.__version__))
    print(f"{out}: image_embeds {tuple(img.shape)}, text_embeds {tuple(txt.shape)}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
