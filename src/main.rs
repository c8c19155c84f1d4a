//! The `hoard` binary: parse arguments, run the command, and decide the
//! exit code — in this one place. A closed stdout pipe is a quiet success.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    install_injected_faults();
    let parsed = match parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli::run(parsed) {
        Ok(cli::Outcome::Success) => ExitCode::SUCCESS,
        Ok(cli::Outcome::ConditionFalse) => ExitCode::from(1),
        Ok(cli::Outcome::Corrupt) => ExitCode::from(4),
        Err(err) => ExitCode::from(exit_code_for(&err)),
    }
}

/// Parses the command line, noting whether `--dir` was given or defaulted.
fn parse() -> Result<cli::args::Cli, clap::Error> {
    let matches = cli::args::Cli::command().try_get_matches()?;
    let mut parsed = cli::args::Cli::from_arg_matches(&matches)?;
    parsed.global.dir_given = !matches!(
        matches.value_source("dir"),
        None | Some(clap::parser::ValueSource::DefaultValue)
    );
    Ok(parsed)
}

/// Reports a failed command on stderr and picks its exit code.
fn exit_code_for(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        return 0;
    }
    if let Some(e) = err.downcast_ref::<hoardhaven::Error>() {
        eprintln!("hoard: error: {e}");
        return e.exit_code();
    }
    // Every file the library touches is named in its own errors; a bare
    // I/O error can only come from writing results to stdout.
    match err.downcast_ref::<std::io::Error>() {
        Some(e) => eprintln!("hoard: error: cannot write to stdout: {e}"),
        None => eprintln!("hoard: error: {err:#}"),
    }
    5
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// In debug builds, `HOARD_FAIL_OP=N[:enospc|:ERRNO]` fails the N-th file
/// operation of the stores' engines with EIO (or ENOSPC, or any errno), so
/// tests can check how every command reports an I/O error. Release builds
/// ignore it.
fn install_injected_faults() {
    #[cfg(debug_assertions)]
    if let Some(spec) = std::env::var_os("HOARD_FAIL_OP") {
        let spec = spec.to_string_lossy().into_owned();
        let (n, errno) = match spec.split_once(':') {
            Some((n, "enospc")) => (n, 28),
            Some((n, errno)) => (n, errno.parse().unwrap_or(5)),
            None => (spec.as_str(), 5),
        };
        if let Ok(n) = n.parse() {
            let real: std::sync::Arc<dyn hoardhaven::fs::Vfs> =
                std::sync::Arc::new(hoardhaven::fs::RealFs);
            hoardhaven::fs::install(std::sync::Arc::new(hoardhaven::faults::FailFs::new(
                real, n, errno,
            )));
        }
    }
}
