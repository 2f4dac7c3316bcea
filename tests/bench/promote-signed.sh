#!/usr/bin/env bash
# Benchmark of promotion with supply-chain artefacts against a local CNCF distribution
# registry (docker-registry 2.8: no referrers API, so the tag schema and cosign tags are used).
#
# Seeds N signed images (default 100) into dev/app (tags t1-stable … tN-stable; each image
# has its own config and 256 KiB layer on top of a shared 1 MiB base), each with
#   - a cosign simple-signing signature, `sha256-<hex>.sig`, signed by an openssl P-256 key
#     exactly as cosign ≤ 2 writes it, and
#   - an SPDX SBOM attached as an OCI 1.1 referrer, listed in the referrers tag schema
#     index `sha256-<hex>` (the empty artifactType cosign 3.0.x writes),
# then promotes them side by side in one run:
#   1. `berth apply` with one policy dev/app → qa/app requiring `signature` (that key) and
#      `sbom: present`: every signature verified, images and artefacts copied by digest with
#      cross-repository mounts;
#   2. a sequential `skopeo copy` loop copying the same images and their `.sig` tags
#      dev/app → skopeo/app (no verification; SBOMs not copied).
# Both end with N images and N `.sig` tags in their target (checked; berth's also with N
# referrers indexes). Prints a markdown table and writes tests/bench/results-promote-signed.md.
#
# Env: N, CONCURRENCY (berth maxConcurrency, 16), BERTH_BIN (release binary built already;
# else built here).
set -euo pipefail

N=${N:-100}
CONCURRENCY=${CONCURRENCY:-16}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/tests/bench/results-promote-signed.md"

# shellcheck source=tests/bench/lib.sh
source "$ROOT/tests/bench/lib.sh"
need_apt docker-registry docker-registry
need_apt skopeo skopeo
need_apt curl curl
need_apt openssl openssl
need_apt sha256sum coreutils
need_apt bc bc

pushd "$ROOT" >/dev/null && release_bin && popd >/dev/null
BERTH=$BIN

bench_work
start_registry true "$WORK/registry.log"

REPO=dev/app
OCI_M=application/vnd.oci.image.manifest.v1+json
OCI_I=application/vnd.oci.image.index.v1+json
digest_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
put_manifest() { # file ref media-type
  curl -fsS -X PUT -H "Content-Type: $3" --data-binary "@$1" -o /dev/null "http://$HOST/v2/$REPO/manifests/$2"
}

mkdir -p "$WORK/cat/policies" "$WORK/cat/keys"
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.pem" 2>/dev/null
openssl ec -in "$WORK/key.pem" -pubout -out "$WORK/cat/keys/team.pub" 2>/dev/null

echo "seeding $N signed images into $HOST ..." >&2
head -c $((1024 * 1024)) /dev/urandom > "$WORK/base"
BASE=$(push_blob "$WORK/base")
BSIZE=$(stat -c %s "$WORK/base")
printf '{}' > "$WORK/empty"
EMPTY=$(push_blob "$WORK/empty")
for i in $(seq 1 "$N"); do
  head -c $((256 * 1024)) /dev/urandom > "$WORK/layer"
  LAYER=$(push_blob "$WORK/layer")
  LSIZE=$(stat -c %s "$WORK/layer")
  printf '{"architecture":"amd64","os":"linux","config":{"Labels":{"bench.n":"%s"}},"rootfs":{"type":"layers","diff_ids":[]}}' "$i" > "$WORK/config"
  CONFIG=$(push_blob "$WORK/config")
  CSIZE=$(stat -c %s "$WORK/config")
  printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$OCI_M" "$CONFIG" "$CSIZE" "$BASE" "$BSIZE" "$LAYER" "$LSIZE" > "$WORK/m.json"
  put_manifest "$WORK/m.json" "t$i-stable" "$OCI_M"
  IMG=$(digest_of "$WORK/m.json")
  MSIZE=$(stat -c %s "$WORK/m.json")
  HEX=${IMG#sha256:}
  # cosign ≤ 2 signature.
  printf '{"critical":{"identity":{"docker-reference":"%s/%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
    "$HOST" "$REPO" "$IMG" > "$WORK/payload"
  PAYLOAD=$(push_blob "$WORK/payload")
  PSIZE=$(stat -c %s "$WORK/payload")
  SIG=$(openssl dgst -sha256 -sign "$WORK/key.pem" "$WORK/payload" | base64 -w0)
  printf '{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' "$PAYLOAD" > "$WORK/sigcfg"
  SIGCFG=$(push_blob "$WORK/sigcfg")
  SCSIZE=$(stat -c %s "$WORK/sigcfg")
  printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%s,"digest":"%s"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":%s,"digest":"%s","annotations":{"dev.cosignproject.cosign/signature":"%s"}}]}' \
    "$OCI_M" "$SCSIZE" "$SIGCFG" "$PSIZE" "$PAYLOAD" "$SIG" > "$WORK/sig.json"
  put_manifest "$WORK/sig.json" "sha256-$HEX.sig" "$OCI_M"
  # SPDX SBOM referrer, listed in the referrers tag schema.
  printf '{"spdxVersion":"SPDX-2.3","name":"bench-%s","packages":[]}' "$i" > "$WORK/sbom"
  SBOM=$(push_blob "$WORK/sbom")
  SBSIZE=$(stat -c %s "$WORK/sbom")
  printf '{"schemaVersion":2,"mediaType":"%s","artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/spdx+json","digest":"%s","size":%s}],"subject":{"mediaType":"%s","digest":"%s","size":%s}}' \
    "$OCI_M" "$EMPTY" "$SBOM" "$SBSIZE" "$OCI_M" "$IMG" "$MSIZE" > "$WORK/ref.json"
  REF=$(digest_of "$WORK/ref.json")
  put_manifest "$WORK/ref.json" "$REF" "$OCI_M"
  printf '{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%s,"artifactType":""}]}' \
    "$OCI_I" "$OCI_M" "$REF" "$(stat -c %s "$WORK/ref.json")" > "$WORK/idx.json"
  put_manifest "$WORK/idx.json" "sha256-$HEX" "$OCI_I"
  echo "$HEX" >> "$WORK/hexes"
done
printf 'registries:\n  "%s":\n    insecure: true\n    maxConcurrency: %s\n' "$HOST" "$CONCURRENCY" > "$WORK/cat/berth.yaml"
printf 'name: bench\nsource: { registry: "%s", repository: dev/app }\ncriteria:\n  - tag: { endsWith: "-stable" }\n  - signature: { key: keys/team.pub }\n  - sbom: present\ntarget: { registry: "%s", repository: qa/app, tag: "%%n" }\n' "$HOST" "$HOST" > "$WORK/cat/policies/bench.yaml"

count_tags() { # repo pattern
  curl -fsS "http://$HOST/v2/$1/tags/list?n=10000" | grep -oE "\"$2\"" | wc -l
}

# 1. berth apply.
t0=$(date +%s.%N)
"$BERTH" apply --catalogue "$WORK/cat" > "$WORK/apply.txt" 2> "$WORK/berth.log" || { cat "$WORK/apply.txt" "$WORK/berth.log" >&2; exit 1; }
t1=$(date +%s.%N)
BERTH_S=$(echo "$t1 - $t0" | bc -l)
for pat in '[^"]*-stable' 'sha256-[0-9a-f]{64}\.sig' 'sha256-[0-9a-f]{64}'; do
  got=$(count_tags qa/app "$pat")
  [ "$got" = "$N" ] || { echo "berth: $got of $N tags like $pat in qa/app" >&2; cat "$WORK/apply.txt" >&2; exit 1; }
done
COPY_LINE=$(grep -o 'copy: .*' "$WORK/apply.txt" || true)
ART_LINE=$(grep -o 'artefacts: .*' "$WORK/apply.txt" || true)

# 2. sequential skopeo copy of the images and their .sig tags.
t0=$(date +%s.%N)
i=0
while read -r HEX; do
  i=$((i + 1))
  skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
    "docker://$HOST/$REPO:t$i-stable" "docker://$HOST/skopeo/app:t$i-stable" > /dev/null
  skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
    "docker://$HOST/$REPO:sha256-$HEX.sig" "docker://$HOST/skopeo/app:sha256-$HEX.sig" > /dev/null
done < "$WORK/hexes"
t1=$(date +%s.%N)
SK_S=$(echo "$t1 - $t0" | bc -l)
for pat in '[^"]*-stable' 'sha256-[0-9a-f]{64}\.sig'; do
  got=$(count_tags skopeo/app "$pat")
  [ "$got" = "$N" ] || { echo "skopeo: $got of $N tags like $pat" >&2; exit 1; }
done

SPEEDUP=$(echo "$SK_S / $BERTH_S" | bc -l)
f1() { printf '%.1f' "$1"; }
f2() { printf '%.2f' "$1"; }
{
  echo "# Promotion benchmark: signed images with their signatures and SBOMs"
  echo
  echo "$N images (config + own 256 KiB layer + shared 1 MiB base), each with a cosign \`.sig\` signature and an SPDX SBOM referrer (tag schema), in one local docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}') on $HOST; $(nproc) cores; $(date -u +%Y-%m-%d); berth release build (\`$("$BERTH" --version)\`), maxConcurrency $CONCURRENCY."
  echo
  echo "| Method | Images | Wall time (s) | Images/s |"
  echo "|---|---|---|---|"
  echo "| \`berth apply\` (policy: signature by the key + SBOM; verifies every signature; copies images, \`.sig\` tags, SBOMs and referrers indexes) | $N | $(f2 "$BERTH_S") | $(f1 "$(echo "$N / $BERTH_S" | bc -l)") |"
  echo "| sequential \`skopeo copy\` of each image and its \`.sig\` tag (no verification, no SBOM) | $N | $(f2 "$SK_S") | $(f1 "$(echo "$N / $SK_S" | bc -l)") |"
  echo
  echo "berth: ${COPY_LINE:-no copy line}; ${ART_LINE:-no artefact line}"
  echo
  echo "berth vs the skopeo loop: **$(f1 "$SPEEDUP")×**"
} | tee "$OUT"
