//! The `hoard` binary: parse arguments, run the command, and decide the
//! exit code — in this one place. A closed stdout pipe is a quiet success.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    install_injected_faults();
    let parsed = match parse() {
        Ok(parsed) => parsed,
        Err(e) if !e.use_stderr() => {
            // Help and version go to stdout with 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // Usage errors go to stderr with 2, prefixed like every message.
            let json = std::env::args_os()
                .take_while(|a| a != "--")
                .any(|a| a == "--json");
            let message = e.render().to_string();
            let message = message.trim_end();
            if json {
                let message = message.strip_prefix("error: ").unwrap_or(message);
                report_json_error(2, "usage", message);
            } else if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                // The whole help, which begins with its own "hoard: " line.
                cli::output::stderr_line(message);
            } else {
                cli::output::stderr_line(&format!("hoard: {message}"));
            }
            return ExitCode::from(2);
        }
    };
    let json = parsed.global.json;
    match cli::run(parsed) {
        Ok(cli::Outcome::Success) => ExitCode::SUCCESS,
        Ok(cli::Outcome::ConditionFalse) => ExitCode::from(1),
        Ok(cli::Outcome::Corrupt) => ExitCode::from(4),
        Err(err) => ExitCode::from(exit_code_for(&err, json)),
    }
}

/// An error as one JSON object on stderr: exit code, stable kind, message.
fn report_json_error(code: u8, kind: &str, message: &str) {
    let doc = serde_json::json!({ "exit_code": code, "kind": kind, "message": message });
    cli::output::stderr_line(&doc.to_string());
}

/// Parses the command line and resolves the store directory: `--dir`,
/// else `$HOARD_DIR`, else `./data`.
fn parse() -> Result<cli::args::Cli, clap::Error> {
    let matches = cli::args::Cli::command().try_get_matches()?;
    let mut parsed = cli::args::Cli::from_arg_matches(&matches)?;
    let global = &mut parsed.global;
    global.dir_given = global.dir_arg.is_some();
    global.dir = match (&global.dir_arg, std::env::var_os("HOARD_DIR")) {
        (Some(dir), _) => dir.clone(),
        (None, Some(env)) if !env.is_empty() => env.into(),
        (None, _) => "./data".into(),
    };
    Ok(parsed)
}

/// Reports a failed command on stderr (one JSON object with `--json`) and
/// picks its exit code.
fn exit_code_for(err: &anyhow::Error, json: bool) -> u8 {
    if is_broken_pipe(err) {
        return 0;
    }
    let (code, kind, message) = if let Some(e) = err.downcast_ref::<hoardhaven::Error>() {
        (e.exit_code(), e.kind(), e.to_string())
    } else if let Some(e) = err.downcast_ref::<std::io::Error>() {
        // Every file the library touches is named in its own errors; a bare
        // I/O error can only come from writing results to stdout.
        (5, "io", format!("cannot write to stdout: {e}"))
    } else {
        (5, "other", format!("{err:#}"))
    };
    if json {
        report_json_error(code, kind, &message);
    } else {
        cli::output::stderr_line(&format!("hoard: error: {message}"));
    }
    code
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
