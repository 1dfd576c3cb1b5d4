//! The `sigil-top` binary: parse arguments, run, map the result to an exit code.
//!
//! Exit codes: 0 on success and on a closed pipe (`sigil-top entries | head`), 2 on any
//! error, printed once with its context chain. Usage errors exit 2 through clap.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = sigil_top::cli::Args::parse();
    match sigil_top::run_args(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<sigil_top::app::SloBreached>().is_some() => {
            eprintln!("sigil-top: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("sigil-top: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
