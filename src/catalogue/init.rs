//! `berth init [DIR] [--force]`: create a starter catalogue.
//!
//! Input: a directory (created when missing). Output: `berth.yaml` (commented, with an example
//! credential read from environment variables), `images/hello.yaml` (a valid listing),
//! `policies/hello-to-qa.yaml` (a commented, valid promotion policy),
//! `dockerfiles/hello.Dockerfile`, and the four JSON Schemas under `.berth/schema/` that the
//! `# yaml-language-server: $schema=` comments point at (a user's catalogue has no copy of
//! berth's own `schema/` folder).
//!
//! Invariants: existing files are never overwritten without `--force` — the check covers every
//! file before anything is written, so a refused run changes nothing. The starter catalogue
//! loads with zero diagnostics (tested). Nothing in the layout is a usual `.gitignore` target:
//! everything created, `.berth/` included, is meant to be committed.

use std::path::Path;

/// Directory (relative to the catalogue root) that receives the JSON Schemas.
pub const SCHEMA_DIR: &str = ".berth/schema";

/// Schema files written by [`crate::model::schema::write_all`] into [`SCHEMA_DIR`].
pub const SCHEMA_FILES: [&str; 4] = [
    "config.schema.json",
    "index.schema.json",
    "listing.schema.json",
    "policy.schema.json",
];

const BERTH_YAML: &str = r#"# yaml-language-server: $schema=.berth/schema/config.schema.json
# berth catalogue configuration. Every setting is optional; `berth schema config` prints the
# full JSON Schema of this file.

# Where `berth apply` writes the generated index. Commit it: pipelines read it.
index: index.json

# Per-registry settings, keyed by host.
registries:
  docker.io:
    maxConcurrency: 4         # parallel requests to this registry
    requestsPerSecond: 10     # stay well below the registry's rate limit
  localhost:5000:
    insecure: true            # plain http: only for a local test registry (the starter policy's)

# Named credentials that listings refer to with `image.credential`. Secrets never live in
# the catalogue: they are read from the environment (set these variables in CI) ...
credentials:
  example-bot:
    usernameEnv: EXAMPLE_REGISTRY_USER
    passwordEnv: EXAMPLE_REGISTRY_TOKEN
  # ... or from ~/.docker/config.json (auths, credsStore, credHelpers):
  # docker-login:
  #   dockerConfig: true
"#;

const HELLO_YAML: &str = r#"# yaml-language-server: $schema=../.berth/schema/listing.schema.json
# One listing per file; `code` must equal the file name (images/hello.yaml -> hello).
code: hello
name: Hello
summary: The hello-world image, as a first listing
description: |
  A starter listing. Point `image` at one of your images, open a pull request and let
  `berth plan` show which version would be released.
publisher: platform-team
labels: [example]
debugProject: hello-debug    # this project also sees versions still in testing
image:
  registry: docker.io
  repository: library/hello-world
  tag: "linux"               # a fixed tag, never "latest"
  # credential: example-bot  # a credential from berth.yaml, for private images
dockerfile: dockerfiles/hello.Dockerfile
release:
  type: new                  # new | incompatible | feature | fix | re-release
  stage: testing             # testing | released | cancelled
  notes: First version
# Per-version marks are added by `berth mark`, for example:
# versions:
#   "1.0.0": { qa: failed, reason: "acceptance run 4411 failed" }
"#;

const HELLO_POLICY: &str = r#"# yaml-language-server: $schema=../.berth/schema/policy.schema.json
# A promotion policy: images in `source` that meet every criterion are copied, by digest, to
# `target`. It starts on a local registry (`docker run -d -p 5000:5000 registry:2`, or Debian's
# `docker-registry`), so nothing outside this machine is contacted until you point `source` and
# `target` at your registries.
name: hello-to-qa
source:
  registry: localhost:5000
  repository: dev/hello          # may be a pattern, e.g. dev/**
criteria:                        # all must hold
  - tag: { endsWith: "-stable" } # equals | startsWith | endsWith | contains | oneOf | notOneOf | matches | semver
  - platform: linux/amd64
target:
  registry: localhost:5000
  repository: qa/hello
  tag: "{{ tag }}"               # minijinja; variables: tag, repository, digest, version, labels, created, promoted_at
overwrite: false                 # an existing target tag with another digest is an error
"#;

const HELLO_DOCKERFILE: &str = r#"# Build and push this image with your own pipeline; berth verifies and records it.
FROM busybox:1.37
CMD ["echo", "hello from berth"]
"#;

/// The hand-written starter files, relative to the catalogue root.
pub const FILES: [(&str, &str); 4] = [
    ("berth.yaml", BERTH_YAML),
    ("images/hello.yaml", HELLO_YAML),
    ("policies/hello-to-qa.yaml", HELLO_POLICY),
    ("dockerfiles/hello.Dockerfile", HELLO_DOCKERFILE),
];

/// Why `berth init` did not create the catalogue.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("refusing to overwrite existing files in {dir}: {} (use --force to overwrite)", .files.join(", "))]
    Exists { dir: String, files: Vec<String> },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is a file, not a directory: give the directory to create the catalogue in")]
    NotADirectory(String),
}

/// What was written, relative to the catalogue root, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Created {
    pub created: Vec<String>,
    pub overwritten: Vec<String>,
}

/// Every path init writes, relative to the root.
fn all_paths() -> Vec<String> {
    FILES
        .iter()
        .map(|(p, _)| p.to_string())
        .chain(SCHEMA_FILES.iter().map(|f| format!("{SCHEMA_DIR}/{f}")))
        .collect()
}

/// Create the starter catalogue in `dir`.
pub fn init(dir: &Path, force: bool) -> Result<Created, InitError> {
    if dir.exists() && !dir.is_dir() {
        return Err(InitError::NotADirectory(crate::model::diag::display_path(
            dir,
        )));
    }
    let existing: Vec<String> = all_paths()
        .into_iter()
        .filter(|p| dir.join(p).symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() && !force {
        return Err(InitError::Exists {
            dir: crate::model::diag::display_path(dir),
            files: existing,
        });
    }
    let io = |path: &Path| {
        let path = crate::model::diag::display_path(path);
        move |source| InitError::Io { path, source }
    };
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    let schema_dir = dir.join(SCHEMA_DIR);
    std::fs::create_dir_all(&schema_dir).map_err(io(&schema_dir))?;
    crate::model::schema::write_all(&schema_dir).map_err(io(&schema_dir))?;

    let mut out = Created::default();
    for rel in all_paths() {
        // Report only what is really there (the schema writer decides its own files).
        if !dir.join(&rel).is_file() {
            continue;
        }
        if existing.contains(&rel) {
            out.overwritten.push(rel);
        } else {
            out.created.push(rel);
        }
    }
    Ok(out)
}
