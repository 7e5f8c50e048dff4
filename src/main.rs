//! The `eslmatrix` binary: the command line ([`cli`]) over the library.

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(e) = cli::run(cli) {
        eprintln!("eslmatrix: {}", e.message);
        std::process::exit(e.exit_code());
    }
}
