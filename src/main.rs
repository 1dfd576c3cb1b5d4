//! The `sigil-top` binary: parse arguments, run, map the result to an exit code.
//!
//! Exit codes: 0 on success and on a closed pipe (`sigil-top entries | head`), 1 when a
//! `report` gate is breached or `entries --grep` matched nothing, 3 when a gate had nothing
//! to judge (a selected unit with no entries), 2 on any error, printed once with its context chain. Usage errors exit 2 through clap; a panic
//! exits 101 (see [`install_panic_hook`]).

use std::process::ExitCode;

use clap::Parser;

/// See Cargo.toml for why: the library and its tests use the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    install_panic_hook();
    let args = sigil_top::cli::Args::parse();
    match sigil_top::run_args(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        // `entries --grep` matched nothing (journalctl's and grep's exit status 1).
        Err(e) if e.downcast_ref::<sigil_top::app::NothingMatched>().is_some() => ExitCode::from(1),
        // The supervised screen's own status; it printed its errors itself.
        Err(e)
            if e.downcast_ref::<sigil_top::app::supervise::ScreenExited>()
                .is_some() =>
        {
            e.downcast_ref::<sigil_top::app::supervise::ScreenExited>()
                .map_or(ExitCode::from(2), |s| ExitCode::from(s.0))
        }
        Err(e) if e.downcast_ref::<sigil_top::app::SloBreached>().is_some() => {
            eprintln!("sigil-top: {e}");
            ExitCode::from(1)
        }
        Err(e)
            if e.downcast_ref::<sigil_top::app::GateReadNothing>()
                .is_some() =>
        {
            eprintln!("sigil-top: {e}");
            ExitCode::from(3)
        }
        Err(e) => {
            // Errors name files and quote input: escaped, never raw (a file name can hold
            // an escape sequence).
            eprintln!(
                "sigil-top: {}",
                sigil_top::text::sanitize_lines(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

/// A panic anywhere ends the program, with the terminal restored first so the message
/// is readable. On the main thread unwinding already does that (exit 101). On any other
/// thread (an input's reader, a snapshot writer) the program would otherwise go on
/// without it: a screen that stops updating, or a report that looks complete but is
/// missing the rest of an input. So the hook exits 101 right after the message.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        sigil_top::view::tui::restore_for_panic();
        previous(info);
        if std::thread::current().name() != Some("main") {
            eprintln!(
                "sigil-top: stopped: a worker thread failed (above), and going on without it \
                 would silently lose its input"
            );
            std::process::exit(101);
        }
    }));
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
