//! Tests of `berth::gitops` against real repositories: fixtures are made with the `git` CLI in
//! temp dirs, remotes are real bare repositories (file paths, and `git daemon` on loopback
//! where server-side hooks must run). Nothing is mocked.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use berth::gitops::{
    Author, GitError, PushAuth, PushOutcome, PushRequest, Regenerated, commit_paths,
    current_branch, head_commit, push_with_retry, read_file_at,
};
use support::{GIT_HINT, clone, git, read, write};

fn bot() -> Author {
    Author::new("berth-bot", "berth-bot@example.com")
}

/// A bare `remote.git` seeded with one commit holding `index.txt` (one entry per line) and a
/// README; returns (tempdir, bare path).
fn seeded_remote() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("remote.git");
    git(
        tmp.path(),
        &["init", "-q", "--bare", "-b", "main", "remote.git"],
    );
    let seed = tmp.path().join("seed");
    git(tmp.path(), &["clone", "-q", bare.to_str().unwrap(), "seed"]);
    write(&seed.join("index.txt"), "base\n");
    write(&seed.join("README.md"), "catalogue\n");
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "-q", "-m", "seed"]);
    git(&seed, &["push", "-q", "origin", "main"]);
    (tmp, bare)
}

/// The generator under test: index.txt = sorted union of the entries already in the work
/// tree's index.txt (the fetched base after a reset) and this applier's own entries.
fn regenerate_union(dir: &Path, own: &[&str]) -> Regenerated {
    let path = dir.join("index.txt");
    let mut lines: BTreeSet<String> = read(&path).lines().map(str::to_string).collect();
    lines.extend(own.iter().map(|s| s.to_string()));
    let body: String = lines.into_iter().map(|l| l + "\n").collect();
    write(&path, &body);
    Regenerated {
        paths: vec![PathBuf::from("index.txt")],
        message: format!("berth: update index (+{})", own.join(",")),
    }
}

fn req<'a>(
    auth: &'a PushAuth,
    author: &'a Author,
    generated: &'a [PathBuf],
    max: u32,
) -> PushRequest<'a> {
    PushRequest {
        remote: "origin",
        branch: "main",
        auth,
        max_attempts: max,
        author,
        generated,
    }
}

fn count(dir: &Path, rev: &str) -> usize {
    git(dir, &["rev-list", "--count", rev]).parse().unwrap()
}

#[test]
fn head_commit_none_outside_repo_and_on_unborn_branch() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(head_commit(tmp.path()).unwrap(), None);
    git(tmp.path(), &["init", "-q", "-b", "main"]);
    assert_eq!(head_commit(tmp.path()).unwrap(), None, "unborn HEAD");
    assert_eq!(current_branch(tmp.path()).unwrap().as_deref(), Some("main"));
    write(&tmp.path().join("cat/index.json"), "{}\n");
    git(tmp.path(), &["add", "."]);
    git(tmp.path(), &["commit", "-q", "-m", "one"]);
    let sha = git(tmp.path(), &["rev-parse", "HEAD"]);
    assert_eq!(head_commit(tmp.path()).unwrap(), Some(sha.clone()));
    // The catalogue may be a subdirectory of the work tree.
    assert_eq!(head_commit(&tmp.path().join("cat")).unwrap(), Some(sha));
}

#[test]
fn read_file_at_revisions_relative_to_catalogue_subdir() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q", "-b", "main"]);
    let cat = repo.join("catalogue");
    write(&cat.join("index.json"), "v1\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "v1"]);
    let v1 = git(repo, &["rev-parse", "HEAD"]);
    write(&cat.join("index.json"), "v2\n");
    git(repo, &["commit", "-q", "-am", "v2"]);
    // Uncommitted work-tree content is not what a revision holds.
    write(&cat.join("index.json"), "dirty\n");

    let idx = Path::new("index.json");
    assert_eq!(read_file_at(&cat, "HEAD~1", idx).unwrap().unwrap(), b"v1\n");
    assert_eq!(read_file_at(&cat, "HEAD", idx).unwrap().unwrap(), b"v2\n");
    assert_eq!(read_file_at(&cat, "main", idx).unwrap().unwrap(), b"v2\n");
    assert_eq!(read_file_at(&cat, &v1, idx).unwrap().unwrap(), b"v1\n");
    assert_eq!(
        read_file_at(&cat, "HEAD", Path::new("missing.json")).unwrap(),
        None
    );
    // A directory is not a file.
    assert_eq!(
        read_file_at(repo, "HEAD", Path::new("catalogue")).unwrap(),
        None
    );
    assert!(matches!(
        read_file_at(&cat, "no-such-rev", idx),
        Err(GitError::RevNotFound(r)) if r == "no-such-rev"
    ));
    assert!(matches!(
        read_file_at(&cat, "HEAD", Path::new("../../etc/passwd")),
        Err(GitError::PathOutsideRepo(_))
    ));
    let outside = tempfile::tempdir().unwrap();
    assert!(matches!(
        read_file_at(outside.path(), "HEAD", idx),
        Err(GitError::NotARepo(_))
    ));
}

#[test]
fn commit_paths_commits_exactly_those_paths_and_never_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q", "-b", "main"]);
    let cat = repo.join("cat");
    write(&cat.join("index.json"), "{}\n");
    write(&cat.join("images/a.yaml"), "code: a\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "init"]);
    let before = count(repo, "HEAD");

    // The user has other work staged and unstaged: it must stay out of berth's commit.
    write(&cat.join("images/a.yaml"), "code: a # staged\n");
    git(repo, &["add", "cat/images/a.yaml"]);
    write(&cat.join("images/b.yaml"), "code: b\n");
    write(&cat.join("index.json"), "{\"a\": 1}\n");

    let msg = "berth: update index (1 changed)";
    let sha = commit_paths(&cat, &[PathBuf::from("index.json")], msg, &bot())
        .unwrap()
        .expect("a commit");
    assert_eq!(git(repo, &["rev-parse", "HEAD"]), sha);
    assert_eq!(count(repo, "HEAD"), before + 1);
    assert_eq!(
        git(repo, &["log", "-1", "--format=%an|%ae|%cn|%ce|%s"]),
        "berth-bot|berth-bot@example.com|berth-bot|berth-bot@example.com|berth: update index (1 changed)"
    );
    assert_eq!(
        git(repo, &["show", "--name-only", "--format=", "HEAD"]),
        "cat/index.json"
    );
    assert_eq!(git(repo, &["show", "HEAD:cat/index.json"]), "{\"a\": 1}");
    // The staged edit is still staged (not committed, not lost), index.json is clean.
    let status = git(repo, &["status", "--porcelain"]);
    assert!(status.contains("M  cat/images/a.yaml"), "{status}");
    assert!(status.contains("?? cat/images/b.yaml"), "{status}");
    assert!(!status.contains("index.json"), "{status}");

    // Unchanged → no commit.
    assert_eq!(
        commit_paths(&cat, &[PathBuf::from("index.json")], msg, &bot()).unwrap(),
        None
    );
    assert_eq!(count(repo, "HEAD"), before + 1);

    // A removed generated file is committed as a deletion; absolute paths work too.
    std::fs::remove_file(cat.join("index.json")).unwrap();
    let del = commit_paths(&cat, &[cat.join("index.json")], "drop index", &bot())
        .unwrap()
        .expect("deletion commit");
    assert_eq!(
        git(repo, &["show", "--name-status", "--format=", &del]),
        "D\tcat/index.json"
    );
}

#[test]
fn commit_paths_on_unborn_branch_makes_root_commit() {
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["init", "-q", "-b", "main"]);
    write(&tmp.path().join("index.json"), "{}\n");
    let sha = commit_paths(tmp.path(), &[PathBuf::from("index.json")], "first", &bot())
        .unwrap()
        .unwrap();
    assert_eq!(git(tmp.path(), &["rev-parse", "main"]), sha);
    assert_eq!(count(tmp.path(), "HEAD"), 1);
}

#[test]
fn commit_paths_refuses_detached_head() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q", "-b", "main"]);
    write(&repo.join("index.json"), "{}\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "init"]);
    git(repo, &["checkout", "-q", "--detach"]);
    write(&repo.join("index.json"), "{\"x\":1}\n");
    let err = commit_paths(repo, &[PathBuf::from("index.json")], "m", &bot()).unwrap_err();
    assert!(matches!(err, GitError::DetachedHead), "{err}");
    assert!(err.to_string().contains("detached"), "{err}");
    assert_eq!(count(repo, "HEAD"), 1);
    assert_eq!(current_branch(repo).unwrap(), None);
}

#[test]
fn push_to_bare_remote() {
    let (tmp, bare) = seeded_remote();
    let a = clone(&bare, tmp.path(), "a");
    let own = regenerate_union(&a, &["a1"]);
    let sha = commit_paths(&a, &own.paths, &own.message, &bot())
        .unwrap()
        .unwrap();
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    let out = push_with_retry(&a, &req(&auth, &author, &generated, 3), |_: &Path| {
        Err::<Regenerated, String>("must not regenerate when the first push succeeds".into())
    })
    .unwrap();
    assert_eq!(
        out,
        PushOutcome {
            attempts: 1,
            commit: sha.clone(),
            pushed: true
        }
    );
    assert_eq!(git(&bare, &["rev-parse", "main"]), sha);
}

/// Two appliers start from the same base; A pushes first, B is rejected, fetches,
/// regenerates on A's result and pushes. Nothing is lost and history stays linear.
#[test]
fn two_appliers_racing_both_changes_land_linearly() {
    let (tmp, bare) = seeded_remote();
    let a = clone(&bare, tmp.path(), "a");
    let b = clone(&bare, tmp.path(), "b");
    let seed = git(&bare, &["rev-parse", "main"]);
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];

    let ra = regenerate_union(&a, &["from-a"]);
    let a_sha = commit_paths(&a, &ra.paths, &ra.message, &author)
        .unwrap()
        .unwrap();
    let rb = regenerate_union(&b, &["from-b"]);
    let b_first = commit_paths(&b, &rb.paths, &rb.message, &author)
        .unwrap()
        .unwrap();

    let out_a = push_with_retry(&a, &req(&auth, &author, &generated, 3), |d: &Path| {
        Ok::<_, String>(regenerate_union(d, &["from-a"]))
    })
    .unwrap();
    assert_eq!((out_a.attempts, out_a.pushed), (1, true));

    let mut regen_calls = Vec::new();
    let out_b = push_with_retry(&b, &req(&auth, &author, &generated, 3), |d: &Path| {
        // The work tree was reset onto A's tip before we are asked to regenerate.
        regen_calls.push(read(&d.join("index.txt")));
        Ok::<_, String>(regenerate_union(d, &["from-b"]))
    })
    .unwrap();
    assert_eq!(regen_calls, vec!["base\nfrom-a\n".to_string()]);
    assert_eq!(out_b.attempts, 2);
    assert!(out_b.pushed);
    assert_ne!(out_b.commit, b_first, "B's first commit was replaced");

    let tip = git(&bare, &["rev-parse", "main"]);
    assert_eq!(tip, out_b.commit);
    assert_eq!(
        git(&bare, &["show", "main:index.txt"]),
        "base\nfrom-a\nfrom-b"
    );
    // A's commit is an ancestor of the final tip (no force-push dropped it) ...
    git(&bare, &["merge-base", "--is-ancestor", &a_sha, &tip]);
    // ... history is linear: seed → A → B', no merges, B's stale commit is not there.
    assert_eq!(
        git(&bare, &["rev-list", "--first-parent", "main"]),
        format!("{tip}\n{a_sha}\n{seed}")
    );
    assert_eq!(git(&bare, &["rev-list", "--merges", "main"]), "");
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%s", "main"]),
        "berth: update index (+from-b)"
    );
    // B's local branch and tracking ref agree with the remote; its work tree is clean.
    assert_eq!(git(&b, &["rev-parse", "main"]), tip);
    assert_eq!(git(&b, &["rev-parse", "origin/main"]), tip);
    assert_eq!(git(&b, &["status", "--porcelain"]), "");
    // read_file_at sees the fetched remote state through a remote-tracking revspec.
    assert_eq!(
        read_file_at(&b, "origin/main~1", Path::new("index.txt"))
            .unwrap()
            .unwrap(),
        b"base\nfrom-a\n"
    );
}

#[test]
fn regenerating_to_the_same_content_pushes_nothing() {
    let (tmp, bare) = seeded_remote();
    let a = clone(&bare, tmp.path(), "a");
    let b = clone(&bare, tmp.path(), "b");
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    for (dir, who) in [(&a, "a"), (&b, "b")] {
        // Different messages, so the two commits differ even within the same second.
        let r = regenerate_union(dir, &["same"]);
        let msg = format!("{} by {who}", r.message);
        commit_paths(dir, &r.paths, &msg, &author).unwrap().unwrap();
    }
    let regen = |d: &Path| Ok::<_, String>(regenerate_union(d, &["same"]));
    push_with_retry(&a, &req(&auth, &author, &generated, 3), regen).unwrap();
    let a_tip = git(&bare, &["rev-parse", "main"]);
    let out = push_with_retry(&b, &req(&auth, &author, &generated, 3), regen).unwrap();
    assert_eq!(
        out,
        PushOutcome {
            attempts: 1,
            commit: a_tip.clone(),
            pushed: false
        }
    );
    assert_eq!(git(&bare, &["rev-parse", "main"]), a_tip);
    assert_eq!(git(&b, &["rev-parse", "HEAD"]), a_tip);
}

/// The remote keeps moving (a third clone pushes every time B regenerates): B gives up after
/// `max_attempts` pushes with a clear error and never overwrites the others' work.
#[test]
fn retries_are_bounded_when_the_remote_keeps_moving() {
    let (tmp, bare) = seeded_remote();
    let b = clone(&bare, tmp.path(), "b");
    let c = clone(&bare, tmp.path(), "c");
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    let mut n = 0;
    let c_push = |n: usize| {
        git(&c, &["pull", "-q", "--ff-only", "origin", "main"]);
        write(&c.join(format!("listing-{n}.yaml")), "x\n");
        git(&c, &["add", "."]);
        git(&c, &["commit", "-q", "-m", &format!("listing {n}")]);
        git(&c, &["push", "-q", "origin", "main"]);
    };
    let r = regenerate_union(&b, &["from-b"]);
    commit_paths(&b, &r.paths, &r.message, &author)
        .unwrap()
        .unwrap();
    c_push(0); // moves the remote before B's first push
    let err = push_with_retry(&b, &req(&auth, &author, &generated, 3), |d: &Path| {
        n += 1;
        c_push(n); // ... and again after every fetch, so B is always behind
        Ok::<_, String>(regenerate_union(d, &["from-b"]))
    })
    .unwrap_err();
    assert_eq!(n, 2, "regenerated after attempts 1 and 2 only");
    match &err {
        GitError::RetriesExhausted { attempts, .. } => assert_eq!(*attempts, 3),
        other => panic!("expected RetriesExhausted, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("after 3 attempt"), "{msg}");
    assert!(msg.contains("origin/main"), "{msg}");
    // The remote holds C's three commits on top of the seed and none of B's.
    assert_eq!(count(&bare, "main"), 4);
    assert_eq!(git(&bare, &["show", "main:index.txt"]), "base");
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%s", "main"]),
        "listing 2"
    );
}

/// A local unpushed commit that touches a non-generated file must not be thrown away by the
/// reset onto the moved remote: berth stops with an error and leaves the branch alone.
#[test]
fn reset_refused_when_local_commits_touch_other_files() {
    let (tmp, bare) = seeded_remote();
    let a = clone(&bare, tmp.path(), "a");
    let b = clone(&bare, tmp.path(), "b");
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    let r = regenerate_union(&a, &["from-a"]);
    commit_paths(&a, &r.paths, &r.message, &author)
        .unwrap()
        .unwrap();
    push_with_retry(&a, &req(&auth, &author, &generated, 3), |d: &Path| {
        Ok::<_, String>(regenerate_union(d, &["from-a"]))
    })
    .unwrap();

    write(&b.join("README.md"), "hand edit\n");
    git(&b, &["commit", "-q", "-am", "hand edit"]);
    let r = regenerate_union(&b, &["from-b"]);
    let b_head = commit_paths(&b, &r.paths, &r.message, &author)
        .unwrap()
        .unwrap();
    let err = push_with_retry(&b, &req(&auth, &author, &generated, 3), |_: &Path| {
        Err::<Regenerated, String>("must not be called".into())
    })
    .unwrap_err();
    assert!(
        matches!(&err, GitError::UnpushedWork { path, .. } if path == "README.md"),
        "{err}"
    );
    assert_eq!(git(&b, &["rev-parse", "HEAD"]), b_head, "branch untouched");
    assert_eq!(read(&b.join("README.md")), "hand edit\n");
}

/// Clone `b` holds a generated commit while another clone moved the remote (README.md):
/// its next push is rejected and needs a reset. The temp dir must outlive the clone.
fn behind_moved_remote() -> (tempfile::TempDir, PathBuf) {
    let (tmp, bare) = seeded_remote();
    let a = clone(&bare, tmp.path(), "a");
    let b = clone(&bare, tmp.path(), "b");
    write(&a.join("README.md"), "moved\n");
    git(&a, &["commit", "-q", "-am", "move remote"]);
    git(&a, &["push", "-q", "origin", "main"]);
    let r = regenerate_union(&b, &["from-b"]);
    commit_paths(&b, &r.paths, &r.message, &bot())
        .unwrap()
        .unwrap();
    (tmp, b)
}

/// The clone's `origin` URL (a bare repository's path) and that remote's `main`.
fn origin_and_its_tip(clone: &Path) -> (String, String) {
    let url = git(clone, &["remote", "get-url", "origin"]);
    let tip = git(Path::new(&url), &["rev-parse", "main"]);
    (url, tip)
}

/// Uncommitted changes to a non-generated tracked file also block the reset.
#[test]
fn reset_refused_when_work_tree_is_dirty() {
    let (_tmp, b) = behind_moved_remote();
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    write(&b.join("README.md"), "uncommitted\n");
    let err = push_with_retry(&b, &req(&auth, &author, &generated, 3), |_: &Path| {
        Err::<Regenerated, String>("must not be called".into())
    })
    .unwrap_err();
    assert!(
        matches!(&err, GitError::DirtyWorktree(p) if p == "README.md"),
        "{err}"
    );
    assert_eq!(read(&b.join("README.md")), "uncommitted\n");
}

/// A remote given as a bare URL (no `[remote]` entry in the config, as CI passes one) is
/// fetched into a private ref, `refs/berth/fetched/<branch>`, never into `refs/remotes/…`
/// (a URL is no remote name). Holds the rule in `fetch_tip`: only a named remote updates its
/// usual tracking ref.
#[test]
fn a_bare_url_remote_is_fetched_into_a_private_ref() {
    let (_tmp, b) = behind_moved_remote();
    let (url, moved) = origin_and_its_tip(&b);
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    let request = PushRequest {
        remote: &url,
        ..req(&auth, &author, &generated, 3)
    };
    let mut fetched = Vec::new();
    let out = push_with_retry(&b, &request, |d: &Path| {
        fetched.push(git(d, &["rev-parse", "refs/berth/fetched/main"]));
        Ok::<_, String>(regenerate_union(d, &["from-b"]))
    })
    .unwrap();
    assert_eq!((out.attempts, out.pushed), (2, true));
    assert_eq!(fetched, vec![moved], "the moved tip was fetched there");
    assert_eq!(git(Path::new(&url), &["rev-parse", "main"]), out.commit);
    // Nothing under refs/remotes/ but the clone's own origin refs.
    let remotes = git(
        &b,
        &["for-each-ref", "--format=%(refname)", "refs/remotes/"],
    );
    assert!(
        remotes
            .lines()
            .all(|r| r.starts_with("refs/remotes/origin/")),
        "{remotes}"
    );
}

/// A named remote's fetch updates its tracking ref `refs/remotes/<remote>/<branch>` (what
/// `git status` and people compare against), even when the retry ends without a push, and
/// leaves no private ref behind.
#[test]
fn a_named_remote_updates_its_tracking_ref_even_without_a_push() {
    let (_tmp, b) = behind_moved_remote();
    let (_, moved) = origin_and_its_tip(&b);
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    // Regenerating from the moved base gives the base's own index: nothing to push.
    let out = push_with_retry(&b, &req(&auth, &author, &generated, 3), |_: &Path| {
        Ok::<_, String>(Regenerated {
            paths: vec![PathBuf::from("index.txt")],
            message: "berth: update index".into(),
        })
    })
    .unwrap();
    assert_eq!((out.attempts, out.pushed), (1, false));
    assert_eq!(out.commit, moved);
    assert_eq!(git(&b, &["rev-parse", "origin/main"]), moved);
    assert_eq!(
        git(&b, &["for-each-ref", "--format=%(refname)", "refs/berth/"]),
        ""
    );
}

/// A local-only merge commit stops the reset even when every commit it brings in touches
/// only generated files: berth never rewrites history it did not write in a straight line
/// (a merge is a person's doing), so it reports the merge and leaves the branch alone.
#[test]
fn reset_refused_when_a_local_commit_is_a_merge() {
    let (_tmp, b) = behind_moved_remote();
    let auth = PushAuth::none();
    let author = bot();
    // Both files count as generated, so each side's own diff alone would be allowed.
    let generated = [PathBuf::from("index.txt"), PathBuf::from("other.txt")];
    git(&b, &["checkout", "-q", "-b", "side", "HEAD~1"]);
    write(&b.join("other.txt"), "side\n");
    git(&b, &["add", "other.txt"]);
    git(&b, &["commit", "-q", "-m", "side"]);
    git(&b, &["checkout", "-q", "main"]);
    git(&b, &["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let merge = git(&b, &["rev-parse", "HEAD"]);
    let err = push_with_retry(&b, &req(&auth, &author, &generated, 3), |_: &Path| {
        Err::<Regenerated, String>("must not be called".into())
    })
    .unwrap_err();
    match &err {
        GitError::UnpushedWork { commit, path } => {
            assert_eq!(path, "(merge commit)");
            assert!(merge.starts_with(commit.as_str()), "{commit} vs {merge}");
        }
        other => panic!("expected UnpushedWork, got {other}"),
    }
    assert_eq!(git(&b, &["rev-parse", "HEAD"]), merge, "branch untouched");
}

/// A callback failure is reported as such.
#[test]
fn regenerate_error_is_reported() {
    let (_tmp, b) = behind_moved_remote();
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    let err = push_with_retry(&b, &req(&auth, &author, &generated, 3), |_: &Path| {
        Err::<Regenerated, String>("listing images/x.yaml is invalid".into())
    })
    .unwrap_err();
    assert!(
        matches!(&err, GitError::Regenerate(m) if m.contains("images/x.yaml")),
        "{err}"
    );
}

/// `git daemon` on loopback serving `base` with receive-pack enabled; killed on drop.
struct Daemon {
    child: Child,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn git_daemon(base: &Path) -> Daemon {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("git")
        .args([
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
            &format!("--base-path={}", base.display()),
            &base.display().to_string(),
        ])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start git daemon ({e}); {GIT_HINT}"));
    let d = Daemon { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "git daemon did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    d
}

/// A server-side refusal (pre-receive hook) arrives through the push status, is reported
/// with the server's words, and is not retried (the remote did not move).
#[test]
fn server_side_rejection_is_reported_not_retried() {
    let (tmp, bare) = seeded_remote();
    let hook = bare.join("hooks/pre-receive");
    write(
        &hook,
        "#!/bin/sh\necho 'protected branch: use a pull request' >&2\nexit 1\n",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let daemon = git_daemon(tmp.path());
    let a = clone(&bare, tmp.path(), "a");
    let url = format!("git://127.0.0.1:{}/remote.git", daemon.port);
    git(&a, &["remote", "set-url", "origin", &url]);
    let r = regenerate_union(&a, &["from-a"]);
    commit_paths(&a, &r.paths, &r.message, &bot())
        .unwrap()
        .unwrap();
    let seed = git(&bare, &["rev-parse", "main"]);
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    let err = push_with_retry(&a, &req(&auth, &author, &generated, 3), |_: &Path| {
        Err::<Regenerated, String>("must not regenerate".into())
    })
    .unwrap_err();
    assert!(matches!(&err, GitError::PushRejected { .. }), "{err}");
    assert!(err.to_string().contains("refs/heads/main"), "{err}");
    assert_eq!(git(&bare, &["rev-parse", "main"]), seed);
}

/// The race also works over a network transport (git://), where the remote's refs are only
/// known from the server's advertisement.
#[test]
fn racing_over_git_daemon() {
    let (tmp, bare) = seeded_remote();
    let daemon = git_daemon(tmp.path());
    let url = format!("git://127.0.0.1:{}/remote.git", daemon.port);
    let a = clone(&bare, tmp.path(), "a");
    let b = clone(&bare, tmp.path(), "b");
    git(&b, &["remote", "set-url", "origin", &url]);
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    write(&a.join("images/new.yaml"), "code: new\n");
    git(&a, &["add", "."]);
    git(&a, &["commit", "-q", "-m", "merge PR"]);
    git(&a, &["push", "-q", "origin", "main"]);
    let r = regenerate_union(&b, &["from-b"]);
    commit_paths(&b, &r.paths, &r.message, &author)
        .unwrap()
        .unwrap();
    let out = push_with_retry(&b, &req(&auth, &author, &generated, 3), |d: &Path| {
        assert!(
            d.join("images/new.yaml").exists(),
            "reset onto the moved remote"
        );
        Ok::<_, String>(regenerate_union(d, &["from-b"]))
    })
    .unwrap();
    assert_eq!((out.attempts, out.pushed), (2, true));
    assert_eq!(git(&bare, &["rev-parse", "main"]), out.commit);
    assert_eq!(git(&bare, &["rev-list", "--count", "main"]), "3");
}

fn base64(input: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

const TOKEN: &str = "ghs_SuperSecretToken0123456789";
const URL_SECRET: &str = "hunter2-url-password";

/// A failing https push to an unreachable loopback port: neither the token given as auth nor
/// a password embedded in the remote URL appears in the error.
#[test]
fn token_never_in_error_of_unreachable_https_push() {
    let (tmp, bare) = seeded_remote();
    let a = clone(&bare, tmp.path(), "a");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://x-access-token:{URL_SECRET}@127.0.0.1:{port}/o/r.git");
    git(&a, &["remote", "set-url", "origin", &url]);
    let r = regenerate_union(&a, &["x"]);
    commit_paths(&a, &r.paths, &r.message, &bot())
        .unwrap()
        .unwrap();
    let auth = PushAuth::with_token(TOKEN);
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    let err = push_with_retry(&a, &req(&auth, &author, &generated, 3), |_: &Path| {
        Err::<Regenerated, String>("unreachable".into())
    })
    .unwrap_err();
    let shown = format!("{err} / {err:?}");
    assert!(matches!(err, GitError::Git { op: "push", .. }), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains(URL_SECRET), "{shown}");
}

/// An http server that always answers 401: the token is never offered to a plain-http remote
/// (the error says it was withheld), the callback does not loop forever, and the error names
/// neither the token nor its base64 form. (Over https it is offered: tests/secrets_tls.rs.)
#[test]
fn token_is_withheld_from_plain_http_and_never_shown() {
    let (tmp, bare) = seeded_remote();
    let a = clone(&bare, tmp.path(), "a");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        let mut auths = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut idle_since = Instant::now();
        while Instant::now() < deadline && idle_since.elapsed() < Duration::from_secs(3) {
            match listener.accept() {
                Ok((stream, _)) => {
                    idle_since = Instant::now();
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    let mut len = 0usize;
                    while reader.read_line(&mut line).unwrap_or(0) > 0 {
                        let l = line.trim_end().to_string();
                        line.clear();
                        if l.is_empty() {
                            break;
                        }
                        if let Some(v) = l.strip_prefix("Authorization: ") {
                            auths.push(v.to_string());
                        }
                        if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length: ") {
                            len = v.parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    let _ = reader.read_exact(&mut body);
                    let mut s = stream;
                    let _ = s.write_all(
                        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        auths
    });
    // Credentials embedded in the remote URL must not be shown either.
    let url = format!("http://x-access-token:{URL_SECRET}@127.0.0.1:{port}/o/r.git");
    git(&a, &["remote", "set-url", "origin", &url]);
    let r = regenerate_union(&a, &["x"]);
    commit_paths(&a, &r.paths, &r.message, &bot())
        .unwrap()
        .unwrap();
    let auth = PushAuth::with_token(TOKEN);
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    let err = push_with_retry(&a, &req(&auth, &author, &generated, 3), |_: &Path| {
        Err::<Regenerated, String>("unreachable".into())
    })
    .unwrap_err();
    let auths = server.join().unwrap();
    let expected = format!(
        "Basic {}",
        base64(format!("x-access-token:{TOKEN}").as_bytes())
    );
    assert!(
        !auths.contains(&expected),
        "the token was sent to a plain-http remote; server saw {auths:?}"
    );
    assert!(
        auths.len() <= 5,
        "credential retries must be bounded: {}",
        auths.len()
    );
    let shown = format!("{err} / {err:?}");
    assert!(shown.contains("the git token was withheld"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains(URL_SECRET), "{shown}");
    assert!(
        !shown.contains(&base64(format!("x-access-token:{TOKEN}").as_bytes())),
        "{shown}"
    );
}

#[test]
fn auth_from_env_takes_first_nonempty_var() {
    // Unique variable names: tests run in parallel threads of one process.
    // SAFETY: no other thread reads or writes these variables.
    unsafe {
        std::env::set_var("BERTH_TEST_TOKEN_EMPTY", "  ");
        std::env::set_var("BERTH_TEST_TOKEN_SET", "tok");
    }
    let a = PushAuth::from_env(&[
        "BERTH_TEST_TOKEN_UNSET",
        "BERTH_TEST_TOKEN_EMPTY",
        "BERTH_TEST_TOKEN_SET",
    ]);
    assert!(a.has_token());
    let none = PushAuth::from_env(&["BERTH_TEST_TOKEN_UNSET", "BERTH_TEST_TOKEN_EMPTY"]);
    assert!(!none.has_token());
}

/// actions/checkout makes depth-1 clones by default: the race must work from those too
/// (libgit2's revwalk and merge-base code do not honour shallow grafts).
#[test]
fn racing_from_shallow_clones() {
    let (tmp, bare) = seeded_remote();
    // A few commits of history so that depth 1 really cuts something off.
    let seed = tmp.path().join("seed");
    for i in 0..3 {
        write(&seed.join(format!("images/l{i}.yaml")), "x\n");
        git(&seed, &["add", "."]);
        git(&seed, &["commit", "-q", "-m", &format!("listing {i}")]);
    }
    git(&seed, &["push", "-q", "origin", "main"]);
    // Over a smart transport: libgit2's local transport does not keep shallow roots on fetch.
    let daemon = git_daemon(tmp.path());
    let url = format!("git://127.0.0.1:{}/remote.git", daemon.port);
    git(tmp.path(), &["clone", "-q", "--depth", "1", &url, "a"]);
    git(tmp.path(), &["clone", "-q", "--depth", "1", &url, "b"]);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    assert_eq!(count(&b, "HEAD"), 1, "shallow clone");
    let auth = PushAuth::none();
    let author = bot();
    let generated = [PathBuf::from("index.txt")];
    for (dir, who) in [(&a, "from-a"), (&b, "from-b")] {
        let r = regenerate_union(dir, &[who]);
        commit_paths(dir, &r.paths, &r.message, &author)
            .unwrap()
            .unwrap();
    }
    let out_a = push_with_retry(&a, &req(&auth, &author, &generated, 3), |d: &Path| {
        Ok::<_, String>(regenerate_union(d, &["from-a"]))
    })
    .unwrap();
    let out_b = push_with_retry(&b, &req(&auth, &author, &generated, 3), |d: &Path| {
        Ok::<_, String>(regenerate_union(d, &["from-b"]))
    })
    .unwrap();
    assert_eq!((out_b.attempts, out_b.pushed), (2, true));
    let tip = git(&bare, &["rev-parse", "main"]);
    assert_eq!(tip, out_b.commit);
    git(&bare, &["merge-base", "--is-ancestor", &out_a.commit, &tip]);
    assert_eq!(
        git(&bare, &["show", "main:index.txt"]),
        "base\nfrom-a\nfrom-b"
    );
    assert_eq!(count(&bare, "main"), 6);
}

/// Commit `index.json` in `dir` as berth does: with the trailer of its sha256.
fn berth_commit(dir: &Path, content: &str) -> String {
    use berth::gitops::history::trailer_line;
    write(&dir.join("index.json"), content);
    let sha = berth::index::sha256_hex(content.as_bytes());
    let msg = format!("berth: update index (x)\n\n{}\n", trailer_line(&sha));
    commit_paths(dir, &[PathBuf::from("index.json")], &msg, &bot())
        .unwrap()
        .unwrap()
}

#[test]
fn provenance_of_the_index_at_head() {
    use berth::gitops::history::{Provenance, head_provenance};
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    let idx = Path::new("index.json");
    assert_eq!(head_provenance(repo, idx).unwrap(), Provenance::NoHistory);
    git(repo, &["init", "-q", "-b", "main"]);
    assert_eq!(head_provenance(repo, idx).unwrap(), Provenance::NoHistory);
    write(&repo.join("index.json"), "{}\n");
    write(&repo.join("images/a.yaml"), "code: a\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "adopt"]);
    assert_eq!(
        head_provenance(repo, idx).unwrap(),
        Provenance::NoBerthCommit {
            at_head: true,
            shallow: false
        }
    );
    let b1 = berth_commit(repo, "{\"v\": 1}\n");
    let is_berth = |want: &str| match head_provenance(repo, idx).unwrap() {
        Provenance::Berth { commit } => assert_eq!(commit.id, want),
        other => panic!("{other:?}"),
    };
    is_berth(&b1);
    // A merged branch that does not touch the index: the last change is still berth's.
    git(repo, &["checkout", "-q", "-b", "listing"]);
    write(&repo.join("images/a.yaml"), "code: a # 2\n");
    git(repo, &["commit", "-q", "-am", "listing"]);
    git(repo, &["checkout", "-q", "main"]);
    write(&repo.join("images/b.yaml"), "code: b\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "other"]);
    git(
        repo,
        &["merge", "-q", "--no-ff", "-m", "merge listing", "listing"],
    );
    is_berth(&b1);
    // A hand edit is named.
    write(&repo.join("index.json"), "{\"v\": 666}\n");
    git(repo, &["commit", "-q", "-am", "hand edit"]);
    let edit = git(repo, &["rev-parse", "HEAD"]);
    match head_provenance(repo, idx).unwrap() {
        Provenance::Edited {
            last,
            berth,
            deleted: false,
        } => {
            assert_eq!(last.id, edit);
            assert_eq!(last.subject, "hand edit");
            assert_eq!(berth.id, b1);
        }
        other => panic!("{other:?}"),
    }
    // A forged trailer with another sha256 does not vouch for anything.
    let forged = format!(
        "looks like berth\n\n{}\n",
        berth::gitops::history::trailer_line(&"0".repeat(64))
    );
    write(&repo.join("index.json"), "{\"v\": 667}\n");
    git(repo, &["commit", "-q", "-am", &forged]);
    assert!(matches!(
        head_provenance(repo, idx).unwrap(),
        Provenance::Edited { .. }
    ));
    // Restoring berth's bytes (a revert, a checkout) makes it berth's again.
    git(repo, &["checkout", "-q", &b1, "--", "index.json"]);
    git(repo, &["commit", "-q", "-am", "restore"]);
    is_berth(&b1);
    // Deleting it is an edit too.
    git(repo, &["rm", "-q", "index.json"]);
    git(repo, &["commit", "-q", "-m", "drop index"]);
    assert!(matches!(
        head_provenance(repo, idx).unwrap(),
        Provenance::Edited { deleted: true, last, .. } if last.subject == "drop index"
    ));
}

#[test]
fn source_commit_skips_berth_index_commits() {
    use berth::gitops::history::source_commit;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    assert_eq!(source_commit(repo).unwrap(), None);
    git(repo, &["init", "-q", "-b", "main"]);
    assert_eq!(source_commit(repo).unwrap(), None);
    write(&repo.join("images/a.yaml"), "code: a\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "listing"]);
    let listing = git(repo, &["rev-parse", "HEAD"]);
    assert_eq!(
        source_commit(repo).unwrap().as_deref(),
        Some(listing.as_str())
    );
    berth_commit(repo, "{\"v\": 1}\n");
    berth_commit(repo, "{\"v\": 2}\n");
    assert_eq!(
        source_commit(repo).unwrap().as_deref(),
        Some(listing.as_str())
    );
}

/// Holds "`Debug` never prints the secrets" of `PushAuth`: the token and the ssh key's
/// passphrase show as `***`, the rest as it is.
#[test]
fn push_auth_debug_hides_the_secrets() {
    let auth = PushAuth::with_token("s3cr3t-token")
        .with_ssh_key("/keys/deploy", Some("s3cr3t-pass".to_string()));
    assert_eq!(
        format!("{auth:?}"),
        "PushAuth { token: Some(\"***\"), token_username: \"x-access-token\", ssh_key: Some(\"/keys/deploy\"), ssh_passphrase: Some(\"***\") }"
    );
    assert_eq!(
        format!("{:?}", PushAuth::none()),
        "PushAuth { token: None, token_username: \"x-access-token\", ssh_key: None, ssh_passphrase: None }"
    );
}

/// A path that goes up and back down inside the work tree is normalised, not refused; one
/// that leaves the work tree is refused.
#[test]
fn paths_inside_the_work_tree_are_normalised() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q", "-b", "main"]);
    let cat = repo.join("cat");
    write(&cat.join("index.json"), "v1\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "v1"]);
    assert_eq!(
        read_file_at(&cat, "HEAD", Path::new("../cat/./index.json"))
            .unwrap()
            .unwrap(),
        b"v1\n"
    );
    assert!(matches!(
        read_file_at(&cat, "HEAD", Path::new("../../index.json")),
        Err(GitError::PathOutsideRepo(_))
    ));
    // Neither the repository's own files nor the work tree itself are paths berth handles.
    for p in ["../.git/config", ".."] {
        assert!(
            matches!(
                read_file_at(&cat, "HEAD", Path::new(p)),
                Err(GitError::PathOutsideRepo(_))
            ),
            "{p}"
        );
    }
}

/// `commit_paths` commits regular files only: a symlink (never followed, whatever it points
/// at) or a directory is refused, and a path that cannot be examined is an error, not a
/// deletion.
#[test]
fn commit_paths_commits_regular_files_only() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q", "-b", "main"]);
    write(&repo.join("index.json"), "{}\n");
    write(&repo.join("real.json"), "{\"a\": 1}\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "init"]);
    let head = git(repo, &["rev-parse", "HEAD"]);
    std::fs::remove_file(repo.join("index.json")).unwrap();
    std::os::unix::fs::symlink("real.json", repo.join("index.json")).unwrap();
    assert!(matches!(
        commit_paths(repo, &[PathBuf::from("index.json")], "m", &bot()),
        Err(GitError::NotAFile(p)) if p == Path::new("index.json")
    ));
    std::fs::create_dir(repo.join("dir")).unwrap();
    assert!(matches!(
        commit_paths(repo, &[PathBuf::from("dir")], "m", &bot()),
        Err(GitError::NotAFile(p)) if p == Path::new("dir")
    ));
    // Below a regular file: not "missing" (which would commit a deletion), an error.
    let err = commit_paths(repo, &[PathBuf::from("real.json/x")], "m", &bot()).unwrap_err();
    assert!(err.to_string().contains("Not a directory"), "{err}");
    assert_eq!(git(repo, &["rev-parse", "HEAD"]), head, "no commit");
}

/// A branch ref that cannot be read is an error, never an unborn branch (which would start
/// a new history with a root commit).
#[test]
fn an_unreadable_head_is_an_error_not_an_unborn_branch() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q", "-b", "main"]);
    write(&repo.join("index.json"), "{}\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "init"]);
    std::fs::write(repo.join(".git/refs/heads/main"), "not a commit id\n").unwrap();
    write(&repo.join("index.json"), "{\"a\": 1}\n");
    let err = commit_paths(repo, &[PathBuf::from("index.json")], "m", &bot()).unwrap_err();
    assert!(matches!(err, GitError::Git { .. }), "{err:?}");
    let err = head_commit(repo).unwrap_err();
    assert!(matches!(err, GitError::Git { op: "head", .. }), "{err:?}");
}

/// A revision whose tree cannot be read (an object missing from the repository) is an error,
/// never "the file does not exist at that revision"; a path through a file is simply absent.
#[test]
fn read_file_at_tells_a_broken_tree_from_a_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q", "-b", "main"]);
    write(&repo.join("a/b/index.json"), "{}\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "init"]);
    assert_eq!(
        read_file_at(repo, "HEAD", Path::new("a/b/index.json/x")).unwrap(),
        None
    );
    let sub = git(repo, &["rev-parse", "HEAD:a/b"]);
    std::fs::remove_file(repo.join(format!(".git/objects/{}/{}", &sub[..2], &sub[2..]))).unwrap();
    let err = read_file_at(repo, "HEAD", Path::new("a/b/index.json")).unwrap_err();
    assert!(
        matches!(
            err,
            GitError::Git {
                op: "read tree",
                ..
            }
        ),
        "{err:?}"
    );
}

/// A committed file keeps its executable bit (the commit matches what `git add` would make).
#[test]
fn commit_paths_keeps_the_executable_bit() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    git(repo, &["init", "-q", "-b", "main"]);
    write(&repo.join("plain.json"), "{}\n");
    write(&repo.join("run.sh"), "#!/bin/sh\n");
    std::fs::set_permissions(repo.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    commit_paths(
        repo,
        &[PathBuf::from("plain.json"), PathBuf::from("run.sh")],
        "m",
        &bot(),
    )
    .unwrap()
    .expect("a commit");
    let modes: Vec<String> = git(repo, &["ls-tree", "HEAD"])
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {}", f[0], f[3])
        })
        .collect();
    assert_eq!(modes, vec!["100644 plain.json", "100755 run.sh"]);
}
