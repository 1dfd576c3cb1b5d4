//! Build script: names the commit `sigil-top --version` was built from.
//!
//! Owns one environment variable, `SIGIL_TOP_BUILD`, read by `cli` for `--version`:
//! `commit 760ca74b1c2d (2026-12-06)` from `git`, or `commit unknown (built outside a
//! git checkout)` when there is no git or no repository (a crates.io tarball, a source
//! package). A build never fails for want of git.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Whether the package root is the top of a git checkout: a source tarball unpacked
/// inside some other repository must not claim that repository's commit.
fn is_own_checkout() -> bool {
    let (Some(top), Ok(root)) = (
        git(&["rev-parse", "--show-toplevel"]),
        std::env::var("CARGO_MANIFEST_DIR"),
    ) else {
        return false;
    };
    match (std::fs::canonicalize(top), std::fs::canonicalize(root)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn main() {
    let commit = is_own_checkout()
        .then(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .flatten();
    let build = match commit {
        Some(commit) => {
            let date = git(&["log", "-1", "--format=%cs", "HEAD"])
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points
            // at (a commit). Paths come from git, so worktrees and packed refs work.
            for path in [
                git(&["rev-parse", "--git-path", "HEAD"]),
                git(&["symbolic-ref", "-q", "HEAD"])
                    .and_then(|r| git(&["rev-parse", "--git-path", &r])),
                git(&["rev-parse", "--git-path", "packed-refs"]),
            ]
            .into_iter()
            .flatten()
            {
                println!("cargo:rerun-if-changed={path}");
            }
            format!("commit {commit}{date}")
        }
        None => "commit unknown (built outside a git checkout)".to_owned(),
    };
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=SIGIL_TOP_BUILD={build}");
}
