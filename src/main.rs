//! The `eslmatrix` binary: the command line ([`cli`]) over the library.

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(e) = cli::run(cli) {
        // Messages quote the user's input: a control character in it (an escape sequence in a
        // capture, a line break in a file name) must not colour or split the line.
        eprintln!("eslmatrix: {}", eslmatrix::config::one_line(&e.message));
        std::process::exit(e.exit_code());
    }
}
