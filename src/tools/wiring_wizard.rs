//! The wiring wizard: a few questions about test pictures on the real chain, whose answers
//! pin down the chain order and the module wiring.
//!
//! The wizard is a pure state machine: it says what to show ([`Wizard::picture`], always
//! for the fixed [`Wizard::base_wiring`] the driver was opened with) and what to ask, and
//! takes the answer. Whoever runs it (the CLI with a person, a test with a VirtualChain)
//! only moves pictures and answers back and forth.
//!
//! The questions, for a W×H grid mounted upright (rotation 0):
//! 1. One whole module is lit (chain index 0): which one? It must be at the left or the
//!    right end of the top row, which splits the four chain orders in two pairs.
//! 2. With more than one row, the first module of the second chain row (index W) is lit:
//!    which one? Under the first module means row by row, at the other end means
//!    serpentine.
//! 3. Every module shows an arrow and an F drawn as if the modules were generic: which
//!    way does the arrow point? That fixes the module's wiring up to a mirror image.
//! 4. With the head turned so the arrow points up, does the F read backwards?
//! 5. With the wiring found, every module shows its number in reading order: does it read
//!    1, 2, 3… upright? "No" starts again.
//!
//! Whole modules are lit in questions 1 and 2 so the answer does not depend on the module
//! wiring, which is not known yet.

use super::modules::{draw_glyph, module_squares, reframe};
use super::selftest::draw_number;
use crate::driver::wiring::{ChainOrder, ModuleWiring, Rotation, Wiring, WiringError};
use crate::render::Frame;

/// An arrow pointing up (columns 0–2) beside an F (columns 4–7): the F has no symmetry, so
/// each of the eight module wirings shows this differently.
pub const ARROW_AND_F: [u8; 8] = [0x4F, 0xE8, 0x48, 0x4E, 0x48, 0x48, 0x48, 0x00];

/// Which way something points on the mounted display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Towards the top.
    Up,
    /// Towards the right.
    Right,
    /// Towards the bottom.
    Down,
    /// Towards the left.
    Left,
}

impl Direction {
    /// Every direction, clockwise from up.
    pub const ALL: [Direction; 4] = [Direction::Up, Direction::Right, Direction::Down, Direction::Left];

    /// Quarter turns clockwise from up.
    fn quarter_turns(self) -> u32 {
        match self {
            Direction::Up => 0,
            Direction::Right => 1,
            Direction::Down => 2,
            Direction::Left => 3,
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "u" | "up" => Ok(Direction::Up),
            "r" | "right" => Ok(Direction::Right),
            "d" | "down" => Ok(Direction::Down),
            "l" | "left" => Ok(Direction::Left),
            other => Err(format!("{other:?} is not a direction: up, down, left or right (u/d/l/r)")),
        }
    }
}

/// What the wizard wants to know about the picture it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Question {
    /// One module is fully lit: which one?
    WhichModuleIsLit {
        /// The chain index lit, which the person does not see.
        chain_index: usize,
    },
    /// Which way do the arrows point?
    ArrowDirection,
    /// With the head turned so the arrow points up, does the F read backwards?
    Mirrored,
    /// Do the modules read 1, 2, 3… in reading order, upright?
    Confirm,
}

impl Question {
    /// The question as a person reads it.
    pub fn prompt(self) -> &'static str {
        match self {
            Question::WhichModuleIsLit { chain_index: 0 } => {
                "One module is fully lit. Which one? (its number counting left to right, top to bottom from 1, or COLUMN,ROW)"
            }
            Question::WhichModuleIsLit { .. } => {
                "Now another module is fully lit. Which one? (number from 1 in reading order, or COLUMN,ROW)"
            }
            Question::ArrowDirection => {
                "Each module shows an arrow next to an F. Which way does the arrow point? (up/down/left/right)"
            }
            Question::Mirrored => {
                "Turn your head so the arrow points up. Does the F read backwards (mirrored)? (y/n)"
            }
            Question::Confirm => {
                "Each module should now show its number, 1, 2, 3… left to right, top to bottom, upright. Is that what you see? (y/n)"
            }
        }
    }
}

/// A person's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A module, counted from 0 at the top-left of the mounted display.
    Module {
        /// Column from 0, left to right.
        column: u32,
        /// Row from 0, top to bottom.
        row: u32,
    },
    /// The direction the arrow points.
    Direction(Direction),
    /// Yes.
    Yes,
    /// No.
    No,
}

/// What happens next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Show [`Wizard::picture`] and ask this.
    Ask(Question),
    /// The display's wiring.
    Done(Wiring),
}

/// An answer the wizard cannot use; the question stays the same.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WizardError {
    #[error(transparent)]
    /// The grid itself is impossible.
    Grid(#[from] WiringError),
    /// A module that is not on the grid.
    #[error("there is no module at column {column}, row {row} on a {modules_x}×{modules_y} display")]
    OutsideGrid {
        /// The column given.
        column: u32,
        /// The row given.
        row: u32,
        /// Modules across.
        modules_x: u32,
        /// Modules down.
        modules_y: u32,
    },
    #[error(
        "the chain must start at the left or right end of the top row: turn the display so it does, run the wizard, then mount it back and set rotate to 180 (90 or 270 for a quarter turn)"
    )]
    /// The chain does not start at either end of the top row.
    FirstModule,
    #[error(
        "the chain's second row must start under the first or the last module of the top row; a chain that runs down the columns needs the display turned a quarter for the wizard and rotate = 90 or 270"
    )]
    /// The second row does not start under either end of the first.
    SecondRow,
    #[error("that answer does not fit the question: {0}")]
    /// An answer that does not fit the question asked.
    Unexpected(&'static str),
}

/// What the wizard has learnt so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    First,
    SecondRow { from_left: bool },
    Arrow { chain: ChainOrder },
    Mirror { chain: ChainOrder, arrow: Direction },
    Confirm { wiring: Wiring },
}

/// The wiring wizard for one grid of modules.
#[derive(Clone, Debug)]
pub struct Wizard {
    base: Wiring,
    state: State,
}

impl Wizard {
    /// A wizard for `modules_x × modules_y` modules mounted upright.
    pub fn new(modules_x: u32, modules_y: u32) -> Result<Self, WizardError> {
        let base = Wiring::new(modules_x, modules_y)?;
        let mut wizard = Wizard { base, state: State::First };
        wizard.restart();
        Ok(wizard)
    }

    /// The wiring the driver must be opened with: every picture is drawn for it.
    pub fn base_wiring(&self) -> Wiring {
        self.base
    }

    /// The question to ask now.
    pub fn question(&self) -> Question {
        match self.state {
            State::First => Question::WhichModuleIsLit { chain_index: 0 },
            State::SecondRow { .. } => {
                Question::WhichModuleIsLit { chain_index: self.base.modules_x as usize }
            }
            State::Arrow { .. } => Question::ArrowDirection,
            State::Mirror { .. } => Question::Mirrored,
            State::Confirm { .. } => Question::Confirm,
        }
    }

    /// The picture to show while asking [`Wizard::question`], for [`Wizard::base_wiring`].
    pub fn picture(&self) -> Frame {
        let (w, h) = self.base.logical_size();
        match self.state {
            State::First => self.whole_module(0),
            State::SecondRow { .. } => self.whole_module(self.base.modules_x as usize),
            State::Arrow { chain } | State::Mirror { chain, .. } => {
                // Drawn as if the modules were generic: the base wiring's module wiring.
                let shown_as = self.base.with_chain(chain);
                let mut f = Frame::new(w, h);
                for sq in module_squares(&shown_as) {
                    draw_glyph(&mut f, sq.x, sq.y, &ARROW_AND_F);
                }
                reframe(&f, &shown_as, &self.base)
            }
            State::Confirm { wiring } => reframe(&reading_order_numbers(&wiring), &wiring, &self.base),
        }
    }

    /// Takes the answer to [`Wizard::question`].
    pub fn answer(&mut self, answer: Answer) -> Result<Step, WizardError> {
        let (mw, mh) = (self.base.modules_x, self.base.modules_y);
        if let Answer::Module { column, row } = answer {
            if column >= mw || row >= mh {
                return Err(WizardError::OutsideGrid { column, row, modules_x: mw, modules_y: mh });
            }
        }
        self.state = match (self.state, answer) {
            (State::First, Answer::Module { column, row }) => {
                let from_left = match (column, row) {
                    (0, 0) => true,
                    (c, 0) if c == mw - 1 => false,
                    _ => return Err(WizardError::FirstModule),
                };
                if mh == 1 {
                    State::Arrow {
                        chain: if from_left { ChainOrder::RowMajor } else { ChainOrder::Reversed },
                    }
                } else {
                    State::SecondRow { from_left }
                }
            }
            (State::SecondRow { from_left }, Answer::Module { column, row }) => {
                let under_first = match (column, row, from_left) {
                    (0, 1, true) => true,
                    (c, 1, false) if c == mw - 1 => true,
                    (c, 1, true) if c == mw - 1 => false,
                    (0, 1, false) => false,
                    _ => return Err(WizardError::SecondRow),
                };
                State::Arrow {
                    chain: match (from_left, under_first) {
                        (true, true) => ChainOrder::RowMajor,
                        (true, false) => ChainOrder::Serpentine,
                        (false, true) => ChainOrder::Reversed,
                        (false, false) => ChainOrder::ReversedSerpentine,
                    },
                }
            }
            (State::First | State::SecondRow { .. }, _) => {
                return Err(WizardError::Unexpected("say which module is lit"))
            }
            (State::Arrow { chain }, Answer::Direction(arrow)) => State::Mirror { chain, arrow },
            (State::Arrow { .. }, _) => {
                return Err(WizardError::Unexpected("say which way the arrow points"))
            }
            (State::Mirror { chain, arrow }, Answer::Yes | Answer::No) => {
                let module = module_wiring_showing(arrow, answer == Answer::Yes);
                State::Confirm { wiring: self.base.with_chain(chain).with_module(module) }
            }
            (State::Mirror { .. }, _) => return Err(WizardError::Unexpected("answer yes or no")),
            (State::Confirm { wiring }, Answer::Yes) => return Ok(Step::Done(wiring)),
            (State::Confirm { .. }, Answer::No) => {
                self.restart();
                return Ok(Step::Ask(self.question()));
            }
            (State::Confirm { .. }, _) => return Err(WizardError::Unexpected("answer yes or no")),
        };
        Ok(Step::Ask(self.question()))
    }

    /// Back to the first question. A single column of modules has only one chain order,
    /// so it starts with the arrow.
    fn restart(&mut self) {
        self.state = if self.base.modules_x == 1 {
            State::Arrow { chain: ChainOrder::RowMajor }
        } else {
            State::First
        };
    }

    /// Every LED of the module at `chain_index` of a row-major chain: the whole module
    /// is lit whatever its wiring, so the picture only depends on the chain order.
    fn whole_module(&self, chain_index: usize) -> Frame {
        let (w, h) = self.base.logical_size();
        let mut f = Frame::new(w, h);
        if let Some(sq) = module_squares(&self.base).get(chain_index) {
            draw_glyph(&mut f, sq.x, sq.y, &[0xFF; 8]);
        }
        f
    }
}

/// Each module's number in reading order, from 1, for the confirmation picture.
fn reading_order_numbers(wiring: &Wiring) -> Frame {
    let (w, h) = wiring.logical_size();
    let mut f = Frame::new(w, h);
    for sq in module_squares(wiring) {
        let n = (sq.y / 8) as usize * (w / 8) as usize + (sq.x / 8) as usize + 1;
        draw_number(&mut f, sq.x, sq.y, n);
    }
    f
}

/// Where the LED at local `(x, y)` of a generic-drawn picture appears on a module wired
/// as `m`.
fn seen_on(m: ModuleWiring, x: u32, y: u32) -> (u32, u32) {
    let (digit, bit) = ModuleWiring::GENERIC.register_bit(x, y);
    m.pixel(digit, bit)
}

/// The transform a person describes: mirrored left-right first, then turned clockwise
/// until up points `arrow`.
fn described(arrow: Direction, mirrored: bool, x: u32, y: u32) -> (u32, u32) {
    let (mut x, mut y) = if mirrored { (7 - x, y) } else { (x, y) };
    for _ in 0..arrow.quarter_turns() {
        (x, y) = (7 - y, x);
    }
    (x, y)
}

/// The module wiring on which a picture drawn for generic modules looks turned and
/// mirrored as described. The eight wirings are exactly the eight ways to turn and mirror
/// a square, so exactly one matches.
pub fn module_wiring_showing(arrow: Direction, mirrored: bool) -> ModuleWiring {
    let pixels = || (0..8u32).flat_map(|y| (0..8u32).map(move |x| (x, y)));
    ModuleWiring::ALL
        .into_iter()
        .find(|&m| pixels().all(|(x, y)| seen_on(m, x, y) == described(arrow, mirrored, x, y)))
        .unwrap_or(ModuleWiring::GENERIC)
}

/// The `[display]` section of the config for `wiring`, naming the preset when there is one.
pub fn display_section(wiring: &Wiring) -> String {
    let m = wiring.module;
    let preset = [
        ("generic", ModuleWiring::GENERIC),
        ("fc16", ModuleWiring::FC16),
        ("parola", ModuleWiring::PAROLA),
        ("icstation", ModuleWiring::ICSTATION),
    ]
    .into_iter()
    .find(|(_, p)| *p == m)
    .map_or(String::new(), |(name, _)| format!("# module wiring: the {name} preset\n"));
    let rotate = match wiring.rotation {
        Rotation::R0 => 0,
        Rotation::R90 => 90,
        Rotation::R180 => 180,
        Rotation::R270 => 270,
    };
    format!(
        "[display]\nmodules = \"{}x{}\"\nchain_order = \"{}\"\n{preset}digits_are_rows = {}\ncolumns_reversed = {}\nrows_reversed = {}\nrotate = {rotate}\n",
        wiring.modules_x, wiring.modules_y, wiring.chain, m.digits_are_rows, m.columns_reversed, m.rows_reversed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_description_names_a_different_wiring() {
        let mut seen = std::collections::HashSet::new();
        for arrow in Direction::ALL {
            for mirrored in [false, true] {
                seen.insert(module_wiring_showing(arrow, mirrored));
            }
        }
        assert_eq!(seen.len(), 8);
        assert_eq!(module_wiring_showing(Direction::Up, false), ModuleWiring::GENERIC);
    }

    #[test]
    fn answers_that_cannot_be_right_keep_the_question() {
        let mut w = Wizard::new(4, 2).unwrap();
        assert_eq!(w.answer(Answer::Module { column: 1, row: 0 }), Err(WizardError::FirstModule));
        assert!(matches!(
            w.answer(Answer::Module { column: 4, row: 0 }),
            Err(WizardError::OutsideGrid { .. })
        ));
        assert!(matches!(w.answer(Answer::Yes), Err(WizardError::Unexpected(_))));
        assert_eq!(w.question(), Question::WhichModuleIsLit { chain_index: 0 });
        assert_eq!(
            w.answer(Answer::Module { column: 3, row: 0 }),
            Ok(Step::Ask(Question::WhichModuleIsLit { chain_index: 4 }))
        );
        assert_eq!(w.answer(Answer::Module { column: 2, row: 1 }), Err(WizardError::SecondRow));
    }

    #[test]
    fn the_config_section_names_presets() {
        let w = Wiring::new(4, 1).unwrap().with_module(ModuleWiring::FC16).with_chain(ChainOrder::Reversed);
        assert_eq!(
            display_section(&w),
            "[display]\nmodules = \"4x1\"\nchain_order = \"reversed\"\n# module wiring: the fc16 preset\ndigits_are_rows = true\ncolumns_reversed = true\nrows_reversed = false\nrotate = 0\n"
        );
    }
}
