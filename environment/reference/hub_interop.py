#!/usr/bin/python3
"""Checks that the kit and Python's huggingface_hub share one Hugging Face cache, both ways, with huggingface_hub itself.

The kit's hub client (lib/src/main/java/diffusionkit/hub) writes and reads the cache layout of huggingface_hub; its tests
(HubTest) run against LoopbackHub, a hub on the loopback. This script puts the real huggingface_hub against the same
LoopbackHub, so both the server's protocol and the cache layout are checked against the real client:

  download  DIR    huggingface_hub downloads the tests' tiny pipeline (kit-test/tiny-ddpm) from the loopback hub into
                   the cache DIR. Its output is the fixture lib/src/test/resources/hub/python-cache, which HubCacheFixtureTest
                   finds by id, offline.
  offline   DIR    with HF_HUB_OFFLINE=1, huggingface_hub finds every file of kit-test/tiny-ddpm in the cache DIR that
                   the kit wrote, byte for byte equal to the originals (the kit downloaded, Python reads).

Run (huggingface_hub is not a Debian package; its sources at tag v0.30.2 do, with Debian's python3-requests,
python3-filelock, python3-tqdm, python3-yaml):

  git clone --branch v0.30.2 <huggingface_hub's repository> /tmp/hfhub      # any way to get the sources
  cd lib && mvn -o -q dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt   # once
  java -cp target/test-classes:target/classes:$(cat target/classpath.txt) diffusionkit.hub.LoopbackHub &   # prints the endpoint
  HF_ENDPOINT=<endpoint> PYTHONPATH=/tmp/hfhub/src /usr/bin/python3 ../environment/reference/hub_interop.py download /tmp/pycache
"""
import hashlib
import os
import sys
from pathlib import Path

REPO = "kit-test/tiny-ddpm"
FILES = ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
         "scheduler/scheduler_config.json"]
ORIGINALS = {  # where the loopback hub's files come from (lib/src/test/resources/vectors)
    "unet/config.json": "vectors/unet_a/config.json",
    "unet/diffusion_pytorch_model.safetensors": "vectors/unet_a/diffusion_pytorch_model.safetensors",
    "scheduler/scheduler_config.json": "vectors/scheduler_configs/ddpm_linear/scheduler_config.json",
}


def main():
    mode, cache = sys.argv[1], Path(sys.argv[2])
    if mode == "offline":
        os.environ["HF_HUB_OFFLINE"] = "1"
    import huggingface_hub
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    print("huggingface_hub", huggingface_hub.__version__, "endpoint", os.environ.get("HF_ENDPOINT"), "cache", cache)
    resources = Path(__file__).resolve().parents[2] / "lib/src/test/resources"
    for f in FILES:
        p = Path(hf_hub_download(REPO, f, cache_dir=cache))
        cached = try_to_load_from_cache(REPO, f, cache_dir=cache)
        assert cached is not None and Path(cached) == p, (f, cached, p)
        line = f"{f}: {p.relative_to(cache)} -> {os.readlink(p) if p.is_symlink() else '(copy)'}, sha256 " \
               f"{hashlib.sha256(p.read_bytes()).hexdigest()[:12]}"
        if f in ORIGINALS:
            same = p.read_bytes() == (resources / ORIGINALS[f]).read_bytes()
            line += ", equal to the original" if same else ", DIFFERS from the original"
            assert same, f
        print(line)
    print("ok:", mode)


if __name__ == "__main__":
    main()
