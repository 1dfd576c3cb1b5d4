//! The journal through sd-journal (the `systemd` crate): the local system journal, `-D DIR`,
//! `--file FILE`, with `journalctl -u` matches, `--since`/`--until`, follow and rotation.
