//! Build script: names the commit `sigil-top --version` was built from, and links the
//! zstd context cache into the binary.
//!
//! Owns one environment variable, `SIGIL_TOP_BUILD`, read by `cli` for `--version`:
//! `commit 760ca74b1c2d (2026-12-06)` from `git`, or `commit unknown (built outside a
//! git checkout)` when there is no git or no repository (a crates.io tarball, a source
//! package). A build never fails for want of git.

use std::path::PathBuf;
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

/// Compiles `src/source/journal/zstd_dctx.c` (see its header: one zstd decompression
/// context per thread for libsystemd) and links it into the `sigil-top` binary only, with
/// its two functions in the binary's dynamic symbol table, where the dynamic linker finds
/// them before libzstd's. A `--dynamic-list` rather than `--export-dynamic-symbol`: GNU ld
/// before 2.35, gold and lld all take it. The object is named on the link line (not put in
/// an archive), so it is linked though nothing in Rust refers to it.
fn link_zstd_context_cache() {
    let source = "src/source/journal/zstd_dctx.c";
    println!("cargo:rerun-if-changed={source}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let objects = cc::Build::new()
        .file(source)
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .compile_intermediates();
    let list = out.join("zstd_dctx.list");
    std::fs::write(&list, "{ ZSTD_createDCtx; ZSTD_freeDCtx; };\n").expect("OUT_DIR is writable");
    for object in objects {
        println!("cargo:rustc-link-arg-bins={}", object.display());
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--dynamic-list={}",
        list.display()
    );
}

fn main() {
    link_zstd_context_cache();
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
