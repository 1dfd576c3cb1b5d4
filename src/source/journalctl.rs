//! Decoding `journalctl -o export` and `journalctl -o json` byte streams (stdin or a file).
