//! Where sigil-top's own files live, and whom it runs as.
//!
//! Owns the XDG base directories it uses (the config file under `$XDG_CONFIG_HOME`,
//! snapshot bundles under `$XDG_STATE_HOME`) and the process's effective uid (for the
//! snapshot writer's ownership checks). Does not own reading or writing those files
//! (`config_file`, `view::snapshot`).
//!
//! The directories come from `etcetera`'s XDG strategy rather than hand-read variables: it
//! keeps the spec's rules in one maintained place (a relative `XDG_*` path is invalid and
//! ignored, the `~/.config` and `~/.local/state` fallbacks, the home directory from `HOME`
//! or the password database). The uid comes from `rustix::process::geteuid`, a direct
//! system call behind a safe function, instead of parsing `/proc/self/status` (which needs
//! `/proc` mounted and can fail to read or parse).

use std::path::PathBuf;

use etcetera::BaseStrategy;

/// `$XDG_CONFIG_HOME/sigil-top/config.toml` (`~/.config/sigil-top/config.toml`); `None`
/// when no home directory is known.
pub(crate) fn config_file() -> Option<PathBuf> {
    let xdg = etcetera::choose_base_strategy().ok()?;
    Some(xdg.config_dir().join("sigil-top").join("config.toml"))
}

/// `$XDG_STATE_HOME/sigil-top/snapshots` (`~/.local/state/sigil-top/snapshots`), or
/// `./sigil-top/snapshots` when no home directory is known.
pub(crate) fn snapshot_dir() -> PathBuf {
    etcetera::choose_base_strategy()
        .ok()
        .and_then(|xdg| xdg.state_dir())
        .unwrap_or_else(|| PathBuf::from("."))
        .join("sigil-top")
        .join("snapshots")
}

/// The effective uid of this process.
pub(crate) fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_uid_is_the_owner_of_what_this_process_creates() {
        use std::os::unix::fs::MetadataExt;
        let file = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(file.as_file().metadata().unwrap().uid(), effective_uid());
    }

    #[test]
    fn the_directories_are_sigil_tops_own() {
        assert!(snapshot_dir().ends_with("sigil-top/snapshots"));
        if let Some(path) = config_file() {
            assert!(path.ends_with("sigil-top/config.toml"));
        }
    }
}
