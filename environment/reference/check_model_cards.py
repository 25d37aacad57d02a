"""Runs the Python snippet of every model card in datasets/models (the section "## Use it from Python (diffusers /
transformers)" of MODEL_CARD.md or README.md) as it is written, and checks what it loaded against the kit's own Java
loaders on the same inputs (environment/reference/ModelCardForwards.java):

  emoji-base, emoji-animals    DDPMPipeline.from_pretrained: its unet's output vs UNet2DModel.fromPretrained (Java)
  mnist-conditional,           the card's ClassConditionedUnet (nn.Embedding + diffusers' UNet2DModel): its output vs
  fashion-conditional          ClassConditionedUNet.fromPretrained (Java), on noisy images, timesteps 0-999 and labels
                               with the null class; the card's sampling loop (8 per class) is graded by the classifier
                               snippets below (the share of samples recognised as the class asked for)
  mnist-classifier,            the card's nn.Module: logits vs Classifier.load (Java)
  fashion-mnist-classifier-32
  emoji-clip                   transformers' CLIPModel / CLIPProcessor: embeddings and logits vs ClipModel (Java) on the
                               card's own pixel values, the token ids vs ClipTokenizer (Java)
  clip-tokenizer               transformers' CLIPTokenizer: ids vs ClipTokenizer (Java)

Each snippet runs in a scratch folder that links datasets/ to the checkout's, so its paths (datasets/models/...) are
the card's and what it writes (sample.png, ...) stays out of the checkout. It prints max |python - java| per output
and exits 1 when one is over its tolerance or a snippet fails.

Usage, from the checkout, after `mvn -o -q -B -DskipTests compile -pl lib -am` (which writes lib/target/classpath.txt):

  PYTHONPATH=<diffusers>/src:<deps> python environment/reference/check_model_cards.py [--quick] [--guidance 3]

  Needs torch, diffusers (checked with 0.31.0, from its sources: `git archive v0.31.0 src` of its repository),
  safetensors, numpy and PIL; transformers for the two CLIP cards (without it they are reported as not run, and the
  pipeline cards fail as they warn: diffusers issue #5989); java for the comparison (--no-java skips it).
  --quick     runs the sampling loops with 2 steps instead of the cards' (the outputs are then noise, not graded)
  --guidance  also runs the class-conditioned loops with that classifier-free guidance scale (their grids are then
              overwritten by the guided ones)

Measured on 2 cores of an AMD EPYC Zen 5 (family 26 model 2), the figures in the cards:
  diffusers 0.31.0 + transformers 4.57.6 + torch 2.13.0 + safetensors 0.8.0 (Python 3.11), --guidance 3: every snippet
    ran; max |python - java|: emoji-base 9.5e-7, emoji-animals 1.1e-6 (UNet outputs up to 5.6), mnist-conditional
    1.4e-6, fashion-conditional 9.5e-7 (up to 5.4), mnist-classifier 0, fashion-mnist-classifier-32 9.5e-7 (logits up
    to 9.0), emoji-clip image_embeds 1.2e-7, text_embeds 8.9e-8, logits_per_image 2.9e-6 (up to 12.3); token ids
    equal (emoji-clip 10 x 32, clip-tokenizer 14 x 77). Samples of the card loops (50 DDPM steps, seed 0), recognised
    as the class asked for: mnist-conditional 77/80 (w = 1, 36 s), 80/80 (w = 3, 76 s); fashion-conditional 17/80
    (34 s), 32/80 (75 s). Whole run: about 7 minutes.
  Debian's python3-torch 1.13 + diffusers 0.31.0 + huggingface_hub 0.30.2 + safetensors 0.8.0, no transformers: the
    pipeline snippets stop with diffusers issue #5989 (as their cards warn), the CLIP ones are not run; max |python -
    java|: mnist-conditional 1.9e-6, fashion-conditional 9.5e-7, mnist-classifier 2.4e-7, fashion-mnist-classifier-32
    1.9e-6; the same samples as with torch 2.13 (77/80, 17/80), 259 s and 243 s per loop.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "datasets" / "models"
HEADING = "## Use it from Python (diffusers / transformers)"
PROMPTS_FOR_TOKENIZER = ["an emoji of a red apple", "a purple devil", "grinning face with big eyes", ""]


def card_of(folder):
    cards = [folder / n for n in ("MODEL_CARD.md", "README.md") if (folder / n).is_file()]
    if len(cards) != 1:
        raise SystemExit(f"{folder}: expected one card (MODEL_CARD.md or README.md), found {len(cards)}")
    return cards[0]


def snippet_of(card):
    text = card.read_text()
    start = text.find(HEADING)
    if start < 0:
        raise ValueError(f"{card} has no section '{HEADING}'")
    m = re.search(r"```python\n(.*?)```", text[start:], re.S)
    if not m:
        raise ValueError(f"{card}: no ```python block under '{HEADING}'")
    return m.group(1)


def run_snippet(name, code, scratch):
    """exec()s the card's code in a fresh namespace with the scratch folder as working folder; returns (namespace,
    printed text, seconds)."""
    ns = {"__name__": f"card_{name.replace('-', '_')}"}
    out = StringIO()
    cwd = os.getcwd()
    os.chdir(scratch)
    t0 = time.time()
    try:
        with redirect_stdout(out):
            exec(compile(code, f"datasets/models/{name} (card snippet)", "exec"), ns)
    finally:
        os.chdir(cwd)
    return ns, out.getvalue(), time.time() - t0


def max_abs(a, b):
    return (a.double() - b.double()).abs().max().item()


def read_safetensors(path):
    from safetensors.torch import load_file
    return load_file(str(path))


def write_safetensors(path, tensors, metadata):
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--no-java", action="store_true")
    args = ap.parse_args()

    import diffusers
    versions = {"python": sys.version.split()[0], "torch": torch.__version__, "diffusers": diffusers.__version__}
    try:
        import transformers
        versions["transformers"] = transformers.__version__
    except ImportError as e:
        versions["transformers"] = f"not importable ({e})"
    import safetensors
    versions["safetensors"] = safetensors.__version__
    print("versions:", json.dumps(versions))
    print(f"torch threads: {torch.get_num_threads()}")

    failures, results, spaces = [], [], {}
    scratch = Path(tempfile.mkdtemp(prefix="model-cards-"))
    (scratch / "datasets").symlink_to(ROOT / "datasets")
    print(f"the snippets run in {scratch} (what they write stays there)")
    # the pipelines first, in a process where nothing has imported safetensors.torch yet (diffusers issue #5989, which
    # their cards mention); the classifiers before the class-conditioned models, whose samples they grade
    order = ["emoji-animals", "emoji-base", "clip-tokenizer", "emoji-clip", "mnist-classifier",
             "fashion-mnist-classifier-32", "mnist-conditional", "fashion-conditional"]
    folders = sorted(p.name for p in MODELS.iterdir() if p.is_dir())
    names = [n for n in order if n in folders] + [n for n in folders if n not in order]
    for name in names:
        code = snippet_of(card_of(MODELS / name))
        if "transformers" in code and not str(versions["transformers"])[0].isdigit():
            print(f"\n== {name}: NOT RUN: transformers is not importable here")
            results.append((name, "not run (no transformers)"))
            continue
        if args.quick:
            code = code.replace("set_timesteps(50)", "set_timesteps(2)").replace(
                "pipeline()", "pipeline(num_inference_steps=2)")
        print(f"\n== {name}: running its card's snippet{' (quick: 2 sampling steps)' if args.quick else ''}", flush=True)
        try:
            ns, printed, secs = run_snippet(name, code, scratch)
        except Exception as e:
            chain, c = [], e
            while c is not None:
                chain.append(repr(c))
                c = c.__cause__ or c.__context__
            if "has no attribute 'torch'" in " ".join(chain) and "transformers" not in sys.modules:
                print(f"   failed as its card warns without transformers (diffusers issue #5989): {chain[-1]}")
                results.append((name, "failed as its card warns: no transformers here (diffusers issue #5989)"))
                continue
            traceback.print_exc()
            failures.append(f"{name}: the snippet failed")
            results.append((name, "FAILED"))
            continue
        print(printed.rstrip())
        print(f"   ({secs:.1f} s)")
        spaces[name] = (ns, code, secs)
        results.append((name, f"ran in {secs:.1f} s"))

    # the samples of the class-conditioned snippets, graded by the classifier snippets
    grades = {}
    for name, classifier_name in (("mnist-conditional", "mnist-classifier"),
                                  ("fashion-conditional", "fashion-mnist-classifier-32")):
        if name not in spaces or classifier_name not in spaces or args.quick:
            continue
        runs = [(spaces[name][0].get("guidance_scale"), spaces[name][0])]
        if args.guidance is not None:
            code = spaces[name][1].replace("guidance_scale = 1.0", f"guidance_scale = {args.guidance}")
            assert code != spaces[name][1], "the snippet has no 'guidance_scale = 1.0' line"
            print(f"\n== {name}: its snippet again with guidance_scale = {args.guidance}", flush=True)
            ns, _, secs = run_snippet(name, code, scratch)
            print(f"   ({secs:.1f} s)")
            runs.append((args.guidance, ns))
        classifier = spaces[classifier_name][0]["classifier"]
        for w, ns in runs:
            x, y = ns["x"], ns["y"]
            if classifier_name == "fashion-mnist-classifier-32":  # 32x32 RGB, as its training images were prepared
                x = F.interpolate(x.clamp(-1, 1), size=32, mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)
            with torch.no_grad():
                hit = classifier(x.clamp(-1, 1)).argmax(1) == y
            per_class = hit.view(10, -1).sum(1).tolist()
            grades[(name, w)] = hit.float().mean().item()
            print(f"{name}, guidance_scale {w}: {int(hit.sum())} of {len(y)} recognised as the class asked for "
                  f"by {classifier_name} ({hit.float().mean().item():.3f}); per class {per_class}")

    if args.no_java:
        print("\n--no-java: no comparison with the Java loaders")
    else:
        failures += compare_with_java(spaces, scratch)

    print("\nsummary:")
    for name, what in results:
        print(f"  {name:30s} {what}")
    for (name, w), g in grades.items():
        print(f"  {name:30s} samples at guidance {w}: {g:.3f} recognised")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    not_run = [n for n, what in results if not what.startswith("ran")]
    print(("all snippets ran" if not not_run else f"the snippets that could run here ran (not: {', '.join(not_run)})")
          + ("" if args.no_java else " and matched the Java loaders"))
    return 0


def compare_with_java(spaces, scratch):
    """Writes the inputs, runs ModelCardForwards.java on them, compares. Returns the failures."""
    g = torch.Generator().manual_seed(0)
    inputs = {
        "emoji_x": torch.randn(2, 3, 32, 32, generator=g),
        "emoji_t": torch.tensor([999, 10]),
        "cc_x": torch.randn(6, 1, 28, 28, generator=g),
        "cc_t": torch.tensor([999, 500, 250, 50, 1, 0]),
        "cc_y": torch.tensor([0, 3, 7, 9, 10, 5]),  # 10: the null class
        "mnist_x": torch.rand(4, 1, 28, 28, generator=g) * 2 - 1,
        "fashion_x": torch.rand(4, 3, 32, 32, generator=g) * 2 - 1,
    }
    prompts = PROMPTS_FOR_TOKENIZER
    clip = spaces.get("emoji-clip")
    if clip:  # the card's own inputs: its images as the processor prepared them, its prompts
        ns = clip[0]
        inputs["clip_pixels"] = ns["inputs"]["pixel_values"]
        prompts = [f"an emoji of {c}" for c in ns["categories"]] + PROMPTS_FOR_TOKENIZER
    else:
        inputs["clip_pixels"] = torch.randn(2, 3, 32, 32, generator=g)
    io_file, out_file = scratch / "inputs.safetensors", scratch / "java.safetensors"
    write_safetensors(io_file, inputs, {"prompts": "|".join(prompts)})
    classpath = (ROOT / "lib/target/classpath.txt").read_text().strip()
    cmd = ["java", "-Dai.djl.offline=true", "-cp", f"{ROOT}/lib/target/classes:{classpath}",
           str(ROOT / "environment/reference/ModelCardForwards.java"), str(io_file), str(out_file)]
    print("\n== Java: " + " ".join(cmd[:2]) + " -cp lib/target/classes:... ModelCardForwards.java", flush=True)
    t0 = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    print(f"   ({time.time() - t0:.1f} s)")
    java = read_safetensors(out_file)

    failures = []

    def check(label, py, jv, tol):
        d = max_abs(py, jv)
        scale = jv.abs().max().item()
        ok = d <= tol
        print(f"  {label:58s} max |python - java| = {d:.3g}  (max |java| {scale:.3g}, tolerance {tol:g})"
              f"{'' if ok else '  <-- OVER'}")
        if not ok:
            failures.append(f"{label}: {d:.3g} > {tol:g}")

    print("\ncomparison (float32 on both sides):")
    with torch.no_grad():
        for name in ("emoji-base", "emoji-animals"):
            if name in spaces:
                unet = spaces[name][0]["pipeline"].unet
                check(f"{name}: DDPMPipeline.unet vs UNet2DModel", unet(inputs["emoji_x"], inputs["emoji_t"]).sample,
                      java[name], 1e-4)
        for name in ("mnist-conditional", "fashion-conditional"):
            if name in spaces:
                net = spaces[name][0]["net"]
                check(f"{name}: ClassConditionedUnet vs ClassConditionedUNet",
                      net(inputs["cc_x"], inputs["cc_t"], inputs["cc_y"]), java[name], 1e-4)
        for name, key in (("mnist-classifier", "mnist_x"), ("fashion-mnist-classifier-32", "fashion_x")):
            if name in spaces:
                check(f"{name}: logits", spaces[name][0]["classifier"](inputs[key]), java[name], 1e-4)
        if clip:
            ns = clip[0]
            ids = ns["inputs"]["input_ids"]
            same = torch.equal(ids, java["emoji-clip.input_ids"][:len(ids)])
            print(f"  {'emoji-clip: CLIPProcessor token ids == ClipTokenizer ids':58s} {same} {tuple(ids.shape)}")
            if not same:
                failures.append("emoji-clip: token ids differ")
            out = ns["model"](**ns["inputs"])
            check("emoji-clip: image_embeds", out.image_embeds, java["emoji-clip.image_embeds"], 1e-5)
            check("emoji-clip: text_embeds", out.text_embeds, java["emoji-clip.text_embeds"][:len(ids)], 1e-5)
            check("emoji-clip: logits_per_image", out.logits_per_image,
                  java["emoji-clip.logits_per_image"][:, :len(ids)], 1e-3)
        if "clip-tokenizer" in spaces:
            tok = spaces["clip-tokenizer"][0]["tokenizer"]
            ids = tok(prompts, padding="max_length", return_tensors="pt").input_ids
            same = torch.equal(ids, java["clip-tokenizer.input_ids"])
            print(f"  {'clip-tokenizer: CLIPTokenizer ids == ClipTokenizer ids':58s} {same} {tuple(ids.shape)}")
            if not same:
                failures.append("clip-tokenizer: token ids differ")
    return failures


if __name__ == "__main__":
    sys.exit(main())
