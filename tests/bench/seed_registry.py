#!/usr/bin/env python3
"""Fill a registry with every image a generated catalogue lists, so berth can verify them.

Usage: seed_registry.py CATALOGUE HOST [--threads T]

Reads the listings tests/bench/gen_catalogue.py wrote (`image:` blocks of
images/*/*.yaml, registry HOST) and pushes to the plain-http registry at HOST one small OCI
image (linux/amd64, one layer, the labels the generated policies ask for) under each listed
repository and tag: the blobs once into `seed/base`, then, per repository, cross-repository
mounts of them and the manifest under its tag. Every repository gets the same manifest (the
same digest): verification does the same requests either way. Python 3 stdlib only.
"""

import argparse
import concurrent.futures
import glob
import hashlib
import http.client
import json
import os
import re
import sys
import threading

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def listed(catalogue, host):
    """(repository, tag) of every listing on HOST."""
    out = set()
    for path in glob.glob(os.path.join(catalogue, "images", "*", "*.yaml")):
        text = open(path, encoding="utf-8").read()
        registry = re.search(r"^  registry: (.+)$", text, re.M)
        repo = re.search(r"^  repository: (.+)$", text, re.M)
        tag = re.search(r"^  tag: (.+)$", text, re.M)
        if registry and registry.group(1).strip() == host and repo and tag:
            out.add((repo.group(1).strip(), json.loads(tag.group(1))))
    return sorted(out)


local = threading.local()


def request(host, method, path, body=None, headers=None):
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPConnection(host, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 300:
        raise RuntimeError(f"{method} {path}: {resp.status} {data[:200]!r}")
    return resp


def push_blob(host, repo, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = request(host, "POST", f"/v2/{repo}/blobs/uploads/").getheader("Location")
    loc = re.sub(r"^https?://[^/]+", "", loc)
    sep = "&" if "?" in loc else "?"
    request(host, "PUT", f"{loc}{sep}digest={d}", data, {"Content-Type": "application/octet-stream"})
    return d, len(data)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalogue")
    ap.add_argument("host")
    ap.add_argument("--threads", type=int, default=16)
    args = ap.parse_args(argv)
    refs = listed(args.catalogue, args.host)
    if not refs:
        sys.exit(f"seed_registry.py: no listing on {args.host} in {args.catalogue}")
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": {"org.opencontainers.image.vendor": "acme",
                              "org.opencontainers.image.source": "https://git.acme.example/images"}},
        "rootfs": {"type": "layers", "diff_ids": []},
    }, sort_keys=True).encode()
    layer = os.urandom(4096)
    cfg, cfg_size = push_blob(args.host, "seed/base", config)
    lay, lay_size = push_blob(args.host, "seed/base", layer)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": cfg_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": lay, "size": lay_size}],
    }, sort_keys=True).encode()
    repos = sorted({r for r, _ in refs})

    def mount(repo):
        for d in (cfg, lay):
            resp = request(args.host, "POST", f"/v2/{repo}/blobs/uploads/?mount={d}&from=seed/base")
            if resp.status != 201:
                raise RuntimeError(f"mount {d} into {repo}: {resp.status}")

    def tag(ref):
        repo, t = ref
        request(args.host, "PUT", f"/v2/{repo}/manifests/{t}", manifest, {"Content-Type": MANIFEST})

    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(mount, repos))
        list(pool.map(tag, refs))
    print(f"seeded {len(refs)} tags in {len(repos)} repositories on {args.host}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
