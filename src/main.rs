//! The `eslmatrix` binary: parses arguments and hands them to the library.

use clap::Parser;

fn main() {
    let cli = eslmatrix::cli::Cli::parse();
    if let Err(e) = eslmatrix::cli::run(cli) {
        eprintln!("eslmatrix: {}", e.message);
        std::process::exit(e.exit_code());
    }
}
