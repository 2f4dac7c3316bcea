#!/usr/bin/env python3
"""Generate a realistic berth catalogue for benchmarks and load tests.

Usage: gen_catalogue.py N DIR [--seed S] [--registry HOST]

--registry HOST puts every listing and policy on one plain-http registry (marked `insecure` in
berth.yaml), e.g. a local docker-registry that tests/bench/seed_registry.py fills, so that an
online `berth plan` can run against it. Without it the listings spread over five registries.

Writes into DIR (created if missing):
  berth.yaml                      registries and credentials (env names only, never secrets)
  images/<publisher>/<code>.yaml  N listings with varied fields
  dockerfiles/<code>.Dockerfile   for the listings that reference one
  policies/*.yaml                 a few promotion policies
  index.json                      history for a subset, in the format of model::Index

History (so that `berth plan` has real work to do):
  - half of the images have a released 1.0.0 whose reference equals the listing's;
  - a quarter have a released 1.0.0 on an older tag, and the listing moved to a new tag;
  - the remaining quarter are new (no history).

Output is a pure function of (N, seed): same arguments, same bytes. Python 3 stdlib only.
Field names mirror the serde names in src/model.rs exactly (camelCase, statuses kebab-case).
"""

import argparse
import hashlib
import json
import os
import random
import sys

SCHEMA_VERSION = 1

REGISTRIES = [
    # (host, credential or None, registry settings or None)
    ("registry.acme.example", "acme-bot", {"maxConcurrency": 8, "requestsPerSecond": 50}),
    ("ghcr.io", "ghcr-bot", {"maxConcurrency": 4}),
    ("docker.io", "hub", None),
    ("", None, None),  # blank registry: docker.io
    ("localhost:5000", None, {"insecure": True}),
]
# --registry: the one registry every listing and policy uses instead (plain http, `insecure`).
ONE_REGISTRY = None
PUBLISHERS = ["platform-team", "data-team", "web-team", "ml-team", "security", "build-infra"]
BASES = ["ubuntu", "debian", "alpine", "ubi", "distroless", "busybox"]
TOOLS = [
    "node", "python", "go", "rust", "java", "maven", "gradle", "terraform", "helm",
    "kubectl", "ansible", "dotnet", "ruby", "php", "postgres", "redis", "nginx", "chrome",
    "lint", "scan", "docs", "pytorch", "spark", "kafka",
]
ROLES = ["build", "test", "lint", "deploy", "runtime", "toolbox", "agent", "job"]
CATEGORIES = [None, None, "pipeline-job", "service", "tooling"]
AGENT_SCOPES = ["linux-docker", "linux-k8s", "windows", "gpu"]
PLATFORMS = [["linux/amd64"], ["linux/amd64", "linux/arm64"], ["linux/amd64", "linux/arm64", "linux/arm/v7"]]
RELEASE_TYPES_MOVED = ["feature", "fix", "incompatible"]


def q(s):
    """YAML double-quoted scalar (JSON string syntax is valid YAML for these inputs)."""
    return json.dumps(s)


def digest(*parts):
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


def host_of(registry):
    return registry or "docker.io"


def ref(registry, repository, tag):
    return f"{host_of(registry)}/{repository}:{tag}"


def pull(registry, repository, dig):
    return f"{host_of(registry)}/{repository}@{dig}"


def make_listing(rng, i):
    tool = rng.choice(TOOLS)
    base = rng.choice(BASES)
    role = rng.choice(ROLES)
    code = f"{tool}-{role}-{i:05d}"  # unique; at most 5+1+7+1+5 chars, well under 32
    name = f"{tool.capitalize()} {role} {i:05d}"
    publisher = rng.choice(PUBLISHERS)
    registry, credential, _ = rng.choice(REGISTRIES)
    if ONE_REGISTRY:
        # Chosen all the same, so the random stream and every other field stay as they are.
        registry, credential = ONE_REGISTRY, None
    repository = f"{publisher}/{tool}-{role}-{i:05d}"
    year = 2025 + rng.randrange(2)
    month = 1 + rng.randrange(12)
    tag = f"{year}.{month}.{rng.randrange(1, 30)}"
    if rng.random() < 0.2:
        tag = f"{tool}{rng.randrange(10, 23)}-{base}"
    category = rng.choice(CATEGORIES)
    listing = {
        "code": code,
        "name": name,
        "summary": f"{base.capitalize()} with {tool} for {role} work",
        "publisher": publisher,
        "labels": sorted(set([base, tool, role] + rng.sample(["ci", "cd", "internal", "lts", "experimental"], rng.randrange(3)))),
        "image": {"registry": registry, "repository": repository, "tag": tag, "credential": credential},
        "release_notes": f"{tool} toolchain refresh {i}",
    }
    if rng.random() < 0.4:
        listing["description"] = (
            f"{base.capitalize()} image with `{tool}` installed.\n"
            f"Use it for {role} steps of pipeline jobs.\n"
        )
    if category:
        listing["category"] = category
    if category == "pipeline-job":
        listing["agentScope"] = sorted(rng.sample(AGENT_SCOPES, 1 + rng.randrange(2)))
    if rng.random() < 0.5:
        listing["debugProject"] = f"{publisher}-debug"
    if rng.random() < 0.3:
        listing["dockerfile"] = f"dockerfiles/{code}.Dockerfile"
    return listing


def dockerfile_text(listing):
    tool = listing["code"].split("-")[0]
    return (
        f"# {listing['name']}\n"
        f"FROM debian:bookworm-slim\n"
        f"RUN apt-get update && apt-get install -y --no-install-recommends {tool} && rm -rf /var/lib/apt/lists/*\n"
    )


def listing_yaml(listing, release, marks):
    img = listing["image"]
    lines = [f"# Generated by tests/bench/gen_catalogue.py", f"code: {listing['code']}", f"name: {q(listing['name'])}",
             f"summary: {q(listing['summary'])}"]
    if "description" in listing:
        lines.append("description: |")
        lines += ["  " + l for l in listing["description"].splitlines()]
    lines.append(f"publisher: {listing['publisher']}")
    if "category" in listing:
        lines.append(f"category: {listing['category']}")
    if "agentScope" in listing:
        lines.append(f"agentScope: [{', '.join(listing['agentScope'])}]")
    lines.append(f"labels: [{', '.join(listing['labels'])}]")
    if "debugProject" in listing:
        lines.append(f"debugProject: {listing['debugProject']}")
    lines.append("image:")
    if img["registry"]:
        lines.append(f"  registry: {img['registry']}")
    lines.append(f"  repository: {img['repository']}")
    lines.append(f"  tag: {q(img['tag'])}")
    if img["credential"]:
        lines.append(f"  credential: {img['credential']}")
    if "dockerfile" in listing:
        lines.append(f"dockerfile: {listing['dockerfile']}")
    lines.append("release:")
    lines.append(f"  type: {release['type']}")
    lines.append(f"  stage: {release['stage']}")
    lines.append(f"  notes: {q(release['notes'])}")
    if marks:
        lines.append("versions:")
        for version in sorted(marks):
            m = marks[version]
            parts = []
            if "qa" in m:
                parts.append(f"qa: {m['qa']}")
            if "reason" in m:
                parts.append(f"reason: {q(m['reason'])}")
            if m.get("delisted"):
                parts.append("delisted: true")
            lines.append(f"  {q(version)}: {{ {', '.join(parts)} }}")
    return "\n".join(lines) + "\n"


def config_yaml():
    lines = ["# Generated by tests/bench/gen_catalogue.py", "index: index.json", "registries:"]
    registries = [(ONE_REGISTRY, None, {"insecure": True})] if ONE_REGISTRY else REGISTRIES
    for host, _, settings in registries:
        if host and settings:
            lines.append(f"  {q(host)}:")
            for k, v in settings.items():
                lines.append(f"    {k}: {json.dumps(v)}")
    lines += [
        "credentials:",
        "  acme-bot:",
        "    usernameEnv: ACME_REGISTRY_USER",
        "    passwordEnv: ACME_REGISTRY_TOKEN",
        "  ghcr-bot:",
        "    usernameEnv: GHCR_USER",
        "    passwordEnv: GHCR_TOKEN",
        "  hub:",
        "    dockerConfig: true",
    ]
    return "\n".join(lines) + "\n"


POLICIES = [
    ("web-to-qa", "registry.acme.example", "dev/web/**", [
        '  - tag: { endsWith: "-stable" }',
        "  - label: { name: org.opencontainers.image.vendor, equals: acme }",
        "  - platform: linux/amd64",
    ], "qa/web", "\"{{ promoted_at | strftime('%Y%m%d-%H%M%S') }}\""),
    ("data-releases", "registry.acme.example", "dev/data/*", [
        '  - tag: { semver: ">=1.0.0, <2" }',
    ], "prod/data", '"%n"'),
    ("ml-nightly", "ghcr.io", "ml-team/**", [
        '  - tag: { startsWith: "nightly-" }',
        '  - label: { name: org.opencontainers.image.source, contains: "acme" }',
    ], "ml-team/qa", '"{{ tag }}-qa"'),
]


def policy_yaml(p):
    name, registry, repository, criteria, target_repo, tag = p
    registry = ONE_REGISTRY or registry
    lines = [
        "# Generated by tests/bench/gen_catalogue.py",
        f"name: {name}",
        f"source: {{ registry: {registry}, repository: {q(repository)} }}",
        "criteria:",
        *criteria,
        "target:",
        f"  registry: {registry}",
        f"  repository: {target_repo}",
        f"  tag: {tag}",
        "overwrite: false",
    ]
    return "\n".join(lines) + "\n"


def version_entry(rng, listing, version, release_type, status, registry, repository, tag, when, commit, notes):
    dig = digest(registry, repository, tag)
    labels = {"org.opencontainers.image.vendor": "acme"}
    if rng.random() < 0.5:
        labels["org.opencontainers.image.source"] = f"https://git.acme.example/{repository}"
    return {
        "version": version,
        "releaseType": release_type,
        "status": status,
        "reference": ref(registry, repository, tag),
        "digest": dig,
        "pull": pull(registry, repository, dig),
        "platforms": rng.choice(PLATFORMS),
        "size": 10_000_000 + rng.randrange(900_000_000),
        "configLabels": labels,
        "notes": notes,
        "recordedAt": when,
        "updatedAt": when,
        "catalogueCommit": commit,
        "verification": {"state": "passed", "level": "blobs"},
    }


def image_entry(listing, dockerfile_sha, versions):
    entry = {
        "code": listing["code"],
        "name": listing["name"],
        "summary": listing["summary"],
        "publisher": listing["publisher"],
        "agentScope": listing.get("agentScope", []),
        "labels": listing["labels"],
        "versions": versions,
    }
    for key in ("description", "category", "debugProject"):
        if key in listing:
            entry[key] = listing[key]
    if "dockerfile" in listing:
        entry["dockerfile"] = {"path": listing["dockerfile"], "sha256": dockerfile_sha}
    released = [v for v in versions if v["status"] == "released" and not v.get("qa", {}).get("status") == "failed"]
    channels = {}
    if released:
        newest = released[-1]
        ch = {"version": newest["version"], "pull": newest["pull"]}
        channels = {"latest": ch, f"{newest['version'].split('.')[0]}.latest": dict(ch)}
    entry["channels"] = channels
    entry["testingChannels"] = json.loads(json.dumps(channels))
    return entry


def generate(n, out_dir, seed):
    rng = random.Random(seed)
    os.makedirs(out_dir, exist_ok=True)
    files = {}
    index_images = {}
    commit = hashlib.sha1(f"catalogue-{seed}-{n}".encode()).hexdigest()
    for i in range(n):
        listing = make_listing(rng, i)
        img = listing["image"]
        code = listing["code"]
        dockerfile_sha = None
        if "dockerfile" in listing:
            text = dockerfile_text(listing)
            files[listing["dockerfile"]] = text
            dockerfile_sha = hashlib.sha256(text.encode()).hexdigest()
        bucket = i % 4
        marks = {}
        day = 1 + rng.randrange(28)
        when = f"2026-0{1 + rng.randrange(9)}-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"
        if bucket in (0, 1):
            # Released 1.0.0 with the listing's current reference: plan has nothing to do.
            release = {"type": "new", "stage": "released", "notes": listing["release_notes"]}
            versions = [version_entry(rng, listing, "1.0.0", "new", "released", img["registry"], img["repository"],
                                      img["tag"], when, commit, release["notes"])]
            if rng.random() < 0.3:
                if rng.random() < 0.5:
                    marks["1.0.0"] = {"qa": "passed"}
                    versions[0]["qa"] = {"status": "passed"}
                else:
                    marks["1.0.0"] = {"qa": "failed", "reason": f"acceptance run {rng.randrange(1000, 9999)} failed"}
                    versions[0]["qa"] = {"status": "failed", "reason": marks["1.0.0"]["reason"]}
            index_images[code] = image_entry(listing, dockerfile_sha, versions)
        elif bucket == 2:
            # An older released 1.0.0; the listing has moved to a new tag: plan computes a new version.
            old_tag = f"old-{img['tag']}"
            versions = [version_entry(rng, listing, "1.0.0", "new", "released", img["registry"], img["repository"],
                                      old_tag, when, commit, "first release")]
            release = {"type": rng.choice(RELEASE_TYPES_MOVED), "stage": rng.choice(["testing", "released"]),
                       "notes": listing["release_notes"]}
            if rng.random() < 0.2:
                marks["1.0.0"] = {"qa": "passed"}
                versions[0]["qa"] = {"status": "passed"}
            index_images[code] = image_entry(listing, dockerfile_sha, versions)
        else:
            # Brand-new image: no history yet.
            release = {"type": "new", "stage": rng.choice(["testing", "released"]), "notes": listing["release_notes"]}
        files[f"images/{listing['publisher']}/{code}.yaml"] = listing_yaml(listing, release, marks)
    files["berth.yaml"] = config_yaml()
    for p in POLICIES:
        files[f"policies/{p[0]}.yaml"] = policy_yaml(p)
    promotions = [
        {
            "policy": "web-to-qa",
            "source": "registry.acme.example/dev/web/shop:2026.3.1-stable",
            "sourceDigest": digest("shop", "2026.3.1-stable"),
            "target": "registry.acme.example/qa/web:20260302-101500",
            "promotedAt": "2026-03-02T10:15:00Z",
            "initiatedBy": "policy",
        },
        {
            "policy": None,
            "source": "registry.acme.example/dev/data/etl:1.4.0",
            "sourceDigest": digest("etl", "1.4.0"),
            "target": "registry.acme.example/prod/data:1.4.0",
            "promotedAt": "2026-04-11T08:00:00Z",
            "initiatedBy": "manual",
        },
    ]
    index = {
        "schemaVersion": SCHEMA_VERSION,
        "sourceCommit": commit,
        "images": index_images,
        "promotions": promotions,
    }
    files["index.json"] = json.dumps(index, indent=2, sort_keys=True) + "\n"
    for rel in sorted(files):
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(files[rel])
    return len(files)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of listings")
    ap.add_argument("dir", help="output directory")
    ap.add_argument("--seed", type=int, default=20261101, help="random seed (default: fixed)")
    ap.add_argument("--registry", help="one plain-http registry for every listing and policy")
    args = ap.parse_args(argv)
    if args.registry:
        global ONE_REGISTRY
        ONE_REGISTRY = args.registry
    if args.n < 0 or args.n > 100000:
        ap.error("N must be between 0 and 100000 (codes carry a 5-digit number)")
    count = generate(args.n, args.dir, args.seed)
    print(f"wrote {count} files ({args.n} listings) to {args.dir}")


if __name__ == "__main__":
    main(sys.argv[1:])
