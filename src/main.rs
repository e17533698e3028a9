use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    spotplan::cli::run(spotplan::cli::Cli::parse())
}
