use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    match spotplan::cli::Cli::try_parse() {
        Ok(cli) => spotplan::cli::run(cli),
        // `--help` and `--version` are answers, not errors
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        // a bad flag or value is bad input: status 1, as for a bad scenario (clap's own is 2)
        Err(e) => {
            let _ = e.print();
            ExitCode::from(1)
        }
    }
}
