//! `eslmatrix wiring`: the wiring wizard with a person at the keyboard.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{CliError, OutputArgs};
use eslmatrix::backend::view::{View, ViewError};
use eslmatrix::backend::LedGrid;
use eslmatrix::backend::{virtual_chain, BackendSpec, Bus, Output, OutputError, OutputSpec};
use eslmatrix::driver::intensity::DEFAULT_INTENSITY;
use eslmatrix::driver::wiring::{ChainOrder, ModuleWiring, Wiring};
use eslmatrix::driver::DisplaySpec;
use eslmatrix::tools::wiring_wizard::{display_section, Answer, Question, Step, Wizard};

#[derive(Args, Debug)]
pub struct WiringArgs {
    /// Module grid, modules across × down as mounted, e.g. 4x1 (asked for when left out).
    #[arg(long, value_name = "WxH")]
    pub modules: Option<String>,
    /// Write the config's display section to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// LED intensity 0–15 for the test pictures.
    #[arg(long, value_name = "0-15", default_value_t = DEFAULT_INTENSITY)]
    pub intensity: u8,
    /// Virtual backends only: wire the simulated chain in this chain order, to try the
    /// wizard without hardware (row-major when left out).
    #[arg(long, value_name = "ORDER")]
    pub sim_chain_order: Option<String>,
    /// Virtual backends only: the simulated modules' wiring preset (generic when left out).
    #[arg(long, value_name = "NAME")]
    pub sim_preset: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(a: WiringArgs) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let modules = match &a.modules {
        Some(m) => m.clone(),
        None => ask(&mut input, "How many modules across and down, as mounted? (e.g. 4x1)")?,
    };
    let (mw, mh) = DisplaySpec { modules: Some(modules), ..DisplaySpec::default() }.grid()?;
    let intensity = DisplaySpec { intensity: Some(a.intensity), ..DisplaySpec::default() }.intensity()?;
    let mut wizard = Wizard::new(mw, mh).map_err(CliError::usage)?;
    let base = wizard.base_wiring();
    let simulated = simulated_wiring(&a, base)?;
    let mut out = match a.output.backend() {
        // The preview is printed afresh for every question (the answers typed below it
        // would break an in-place redraw), on stderr so stdout is only the config.
        BackendSpec::Terminal | BackendSpec::Virtual => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let chain = virtual_chain(&simulated).map_err(OutputError::from)?;
            Output::with_bus(Bus::Chain(chain), Box::new(Printed { colour }), base, intensity)?
        }
        _ if simulated != base => {
            return Err(CliError::usage(
                "--sim-chain-order and --sim-preset need --backend terminal or virtual",
            ))
        }
        ref backend => Output::open(&OutputSpec {
            backend: backend.clone(),
            wiring: base,
            intensity,
            spi_speed: a.output.spi_speed(),
            // The wizard takes no display flags beyond --modules and --intensity, so no budget.
            power: None,
        })?,
    };
    let mut question = wizard.question();
    let wiring = loop {
        out.show(&wizard.picture())?;
        let reply = ask(&mut input, question.prompt())?;
        let parsed = match question {
            Question::WhichModuleIsLit { .. } => parse_module(&reply, mw, mh),
            Question::ArrowDirection => reply.parse().map(Answer::Direction),
            Question::Mirrored | Question::Confirm => parse_yes_no(&reply),
        };
        let step = match parsed {
            Ok(answer) => wizard.answer(answer).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match step {
            Ok(Step::Ask(q)) => {
                if question == Question::Confirm {
                    eprintln!("Starting again.");
                }
                question = q;
            }
            Ok(Step::Done(wiring)) => break wiring,
            Err(e) => eprintln!("{e}"),
        }
    };
    out.finish()?;
    let section = display_section(&wiring);
    match &a.write {
        Some(path) => write_section(path, &section)?,
        None => print!("{section}"),
    }
    Ok(())
}

/// The `[display]` keys that say how the modules are wired: the wizard's answer replaces
/// all of them (an old `cascaded` or `preset` beside the new `modules` would contradict it).
/// The others (`intensity`, `font`, `invert`…) stay as the person set them.
const WIRING_KEYS: &[&str] = &[
    "cascaded",
    "modules",
    "block_orientation",
    "preset",
    "digits_are_rows",
    "columns_reversed",
    "rows_reversed",
    "reverse_order",
    "chain_order",
    "rotate",
    "flip_x",
];

/// Writes the section into `path`: a new file, or merged into an existing config (its
/// other tables, keys and comments kept; the original saved as `FILE.bak`).
fn write_section(path: &std::path::Path, section: &str) -> Result<(), CliError> {
    let fail = |e: &dyn std::fmt::Display| CliError::usage(format!("{}: {e}", path.display()));
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(&e)),
    };
    let Some(existing) = existing else {
        std::fs::write(path, section).map_err(|e| fail(&e))?;
        eprintln!("Wrote the [display] section to {}.", path.display());
        return Ok(());
    };
    let merged = merge_display(&existing, section).map_err(|e| fail(&e))?;
    let backup = {
        let mut name = path.as_os_str().to_owned();
        name.push(".bak");
        std::path::PathBuf::from(name)
    };
    std::fs::write(&backup, &existing).map_err(|e| CliError::usage(format!("{}: {e}", backup.display())))?;
    std::fs::write(path, merged).map_err(|e| fail(&e))?;
    eprintln!(
        "Updated the [display] section of {} (the previous file is {}).",
        path.display(),
        backup.display()
    );
    Ok(())
}

/// `existing` with its `[display]` wiring replaced by `section`'s, everything else as it was.
pub fn merge_display(existing: &str, section: &str) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = existing
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("not TOML, left as it is: {}", e.message()))?;
    let new: toml_edit::DocumentMut =
        section.parse().map_err(|e: toml_edit::TomlError| e.message().to_owned())?;
    let Some(new_display) = new.get("display").and_then(toml_edit::Item::as_table) else {
        return Err("the wizard's section has no [display] table".into());
    };
    match doc.get_mut("display") {
        Some(item) => {
            let table = item.as_table_mut().ok_or("`display` is not a table: fix it by hand")?;
            // A key the wizard sets keeps its place and comments, with the new value; an old
            // wiring key it does not set becomes a comment (with the comments above it), so
            // nothing the person wrote is lost.
            let mut retired = String::new();
            for key in WIRING_KEYS {
                if new_display.contains_key(key) {
                    continue;
                }
                if let Some((old_key, old_value)) = table.remove_entry(key) {
                    let prefix = old_key.leaf_decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
                    let value = old_value.as_value().map_or_else(String::new, ToString::to_string);
                    retired.push_str(prefix);
                    retired.push_str(&format!("# {key} ={value}  (replaced by `eslmatrix wiring`)\n"));
                }
            }
            for (key, value) in new_display {
                match table.get_mut(key).and_then(toml_edit::Item::as_value_mut) {
                    Some(slot) => {
                        let decor = slot.decor().clone();
                        *slot = value.as_value().cloned().ok_or("the wizard wrote a table")?;
                        *slot.decor_mut() = decor;
                    }
                    None => {
                        if let Some((formatted, _)) = new_display.get_key_value(key) {
                            let mut formatted = formatted.clone();
                            let prefix =
                                formatted.leaf_decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
                            let prefix = format!("{}{prefix}", std::mem::take(&mut retired));
                            formatted.leaf_decor_mut().set_prefix(prefix);
                            table.insert_formatted(&formatted, value.clone());
                        }
                    }
                }
            }
        }
        None => {
            doc.insert("display", toml_edit::Item::Table(new_display.clone()));
        }
    }
    Ok(doc.to_string())
}

/// The hidden wiring of the simulated chain: what the person is to find.
fn simulated_wiring(a: &WiringArgs, base: Wiring) -> Result<Wiring, CliError> {
    let chain = match &a.sim_chain_order {
        Some(s) => s.parse::<ChainOrder>().map_err(CliError::usage)?,
        None => base.chain,
    };
    let module = match &a.sim_preset {
        Some(s) => s.parse::<ModuleWiring>().map_err(CliError::usage)?,
        None => base.module,
    };
    Ok(base.with_chain(chain).with_module(module))
}

/// Prints `prompt` and reads one line; end of input or "q" stops the wizard.
fn ask(input: &mut impl BufRead, prompt: &str) -> Result<String, CliError> {
    eprint!("{prompt}\n> ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let read = input.read_line(&mut line).map_err(|e| CliError::runtime(format!("reading stdin: {e}")))?;
    let line = line.trim();
    if read == 0 || line.eq_ignore_ascii_case("q") || line.eq_ignore_ascii_case("quit") {
        return Err(CliError::runtime("wiring wizard stopped: nothing written"));
    }
    Ok(line.to_owned())
}

/// "3" (reading order from 1) or "3,1" / "3 1" (column and row from 1).
fn parse_module(s: &str, mw: u32, mh: u32) -> Result<Answer, String> {
    let bad =
        || format!("{s:?}: give the module's number from 1 (left to right, top to bottom) or COLUMN,ROW");
    let parts: Vec<_> = s.split([',', ' ', 'x']).filter(|p| !p.is_empty()).collect();
    let num = |p: &str| p.trim().parse::<u32>().ok().filter(|&n| n >= 1).ok_or_else(bad);
    let (column, row) = match parts.as_slice() {
        [n] => {
            let n = num(n)? - 1;
            if n >= mw.saturating_mul(mh) {
                return Err(format!("there are only {} modules", mw * mh));
            }
            (n % mw, n / mw)
        }
        [c, r] => (num(c)? - 1, num(r)? - 1),
        _ => return Err(bad()),
    };
    Ok(Answer::Module { column, row })
}

fn parse_yes_no(s: &str) -> Result<Answer, String> {
    match s.to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(Answer::Yes),
        "n" | "no" => Ok(Answer::No),
        _ => Err(format!("{s:?}: answer y or n")),
    }
}

/// The virtual chain's picture printed in full for every question.
struct Printed {
    colour: bool,
}

impl View for Printed {
    fn show(&mut self, leds: &LedGrid, _: Duration) -> Result<(), ViewError> {
        let mut out = std::io::stderr().lock();
        out.write_all(leds.to_ansi(self.colour).as_bytes()).map_err(ViewError::Terminal)?;
        out.flush().map_err(ViewError::Terminal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_by_number_or_position() {
        assert_eq!(parse_module("1", 4, 2), Ok(Answer::Module { column: 0, row: 0 }));
        assert_eq!(parse_module("6", 4, 2), Ok(Answer::Module { column: 1, row: 1 }));
        assert_eq!(parse_module("4,1", 4, 2), Ok(Answer::Module { column: 3, row: 0 }));
        assert_eq!(parse_module(" 2 2 ", 4, 2), Ok(Answer::Module { column: 1, row: 1 }));
        assert!(parse_module("9", 4, 2).is_err());
        assert!(parse_module("0", 4, 2).is_err());
        assert!(parse_module("left", 4, 2).is_err());
    }
}
