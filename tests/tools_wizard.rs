//! The wiring wizard against a VirtualChain wired with a hidden true wiring: a scripted
//! person reads the chain's pixels and answers, and the wizard must recover the wiring
//! (or one that lights every pixel identically).

use eslmatrix::backend::view::NoView;
use eslmatrix::backend::{sim_layout, Bus, Output};
use eslmatrix::driver::wiring::{ChainOrder, ModuleWiring, Wiring};
use eslmatrix::driver::Intensity;
use eslmatrix::render::Frame;
use eslmatrix::tools::selftest::draw_number;
use eslmatrix::tools::wiring_wizard::{Answer, Direction, Question, Step, Wizard};
use eslmatrix_sim::chain::{Pixels, VirtualChain};

/// The arrow-and-F picture as a person knows it, upright.
const REFERENCE: [&str; 8] =
    [".#..####", "###.#...", ".#..#...", ".#..###.", ".#..#...", ".#..#...", ".#..#...", "........"];

type Square = [[bool; 8]; 8];

fn reference() -> Square {
    let mut s = [[false; 8]; 8];
    for (y, row) in REFERENCE.iter().enumerate() {
        for (x, c) in row.chars().enumerate() {
            s[y][x] = c == '#';
        }
    }
    s
}

fn square_at(px: &Pixels, mx: usize, my: usize) -> Square {
    let mut s = [[false; 8]; 8];
    for (y, row) in s.iter_mut().enumerate() {
        for (x, v) in row.iter_mut().enumerate() {
            *v = px.is_on(mx * 8 + x, my * 8 + y);
        }
    }
    s
}

/// Turning one's head a quarter turn clockwise turns the picture a quarter counter-clockwise.
fn turn_counter_clockwise(s: &Square) -> Square {
    let mut t = [[false; 8]; 8];
    for (y, row) in t.iter_mut().enumerate() {
        for (x, v) in row.iter_mut().enumerate() {
            *v = s[x][7 - y];
        }
    }
    t
}

fn mirror(s: &Square) -> Square {
    let mut t = *s;
    for row in &mut t {
        row.reverse();
    }
    t
}

/// How a person reads an arrow-and-F square: how many quarter turns of the head make the
/// arrow point up, and whether the F then reads backwards.
fn read_arrow(s: &Square) -> (Direction, bool) {
    let mut seen = *s;
    for direction in [Direction::Up, Direction::Right, Direction::Down, Direction::Left] {
        if seen == reference() {
            return (direction, false);
        }
        if seen == mirror(&reference()) {
            return (direction, true);
        }
        seen = turn_counter_clockwise(&seen);
    }
    panic!("not an arrow and an F:\n{s:?}");
}

fn lit_modules(px: &Pixels, mw: usize, mh: usize) -> Vec<(u32, u32)> {
    let mut lit = Vec::new();
    for my in 0..mh {
        for mx in 0..mw {
            let s = square_at(px, mx, my);
            if s.iter().flatten().any(|&v| v) {
                assert!(s.iter().flatten().all(|&v| v), "module ({mx},{my}) is only partly lit");
                lit.push((mx as u32, my as u32));
            }
        }
    }
    lit
}

/// Whether each module shows its reading-order number, upright.
fn numbers_read_in_order(px: &Pixels, mw: usize, mh: usize) -> bool {
    let mut expected = Frame::new(mw as u32 * 8, mh as u32 * 8);
    for my in 0..mh {
        for mx in 0..mw {
            draw_number(&mut expected, mx as u32 * 8, my as u32 * 8, my * mw + mx + 1);
        }
    }
    expected.to_rows() == px.to_rows()
}

/// The person in front of the display.
fn answer(question: Question, px: &Pixels, mw: usize, mh: usize) -> Answer {
    match question {
        Question::WhichModuleIsLit { .. } => {
            let lit = lit_modules(px, mw, mh);
            assert_eq!(lit.len(), 1, "exactly one module should be lit:\n{px}");
            Answer::Module { column: lit[0].0, row: lit[0].1 }
        }
        Question::ArrowDirection => Answer::Direction(read_arrow(&square_at(px, 0, 0)).0),
        Question::Mirrored => {
            if read_arrow(&square_at(px, 0, 0)).1 {
                Answer::Yes
            } else {
                Answer::No
            }
        }
        Question::Confirm => {
            if numbers_read_in_order(px, mw, mh) {
                Answer::Yes
            } else {
                Answer::No
            }
        }
    }
}

/// Runs the wizard on a chain wired as `truth`, returning the wiring found and the number
/// of questions asked.
fn run_wizard(truth: Wiring) -> (Wiring, usize) {
    let (mw, mh) = (truth.modules_x as usize, truth.modules_y as usize);
    let chain = VirtualChain::new(truth.chips()).with_layout(sim_layout(&truth)).unwrap();
    let mut wizard = Wizard::new(truth.modules_x, truth.modules_y).unwrap();
    let mut out =
        Output::with_bus(Bus::Chain(chain), Box::new(NoView), wizard.base_wiring(), Intensity::default())
            .unwrap();
    let mut question = wizard.question();
    for asked in 1..=10 {
        out.show(&wizard.picture()).unwrap();
        let px = out.driver_mut().spi().chain().unwrap().pixels();
        match wizard.answer(answer(question, &px, mw, mh)).unwrap() {
            Step::Ask(q) => question = q,
            Step::Done(found) => return (found, asked),
        }
    }
    panic!("the wizard did not finish for {truth:?}");
}

fn same_pictures(a: &Wiring, b: &Wiring) -> bool {
    let (w, h) = a.logical_size();
    a.logical_size() == b.logical_size() && (0..h).all(|y| (0..w).all(|x| a.locate(x, y) == b.locate(x, y)))
}

#[test]
fn every_module_wiring_and_chain_order_is_recovered() {
    for (mw, mh) in [(4, 1), (2, 2), (3, 2), (1, 3)] {
        for chain in ChainOrder::ALL {
            for module in ModuleWiring::ALL {
                let truth = Wiring::new(mw, mh).unwrap().with_chain(chain).with_module(module);
                let (found, asked) = run_wizard(truth);
                assert!(same_pictures(&found, &truth), "{mw}x{mh} {chain} {module:?}: found {found:?}");
                // The chain order questions are skipped where they cannot matter.
                let expected_questions = match (mw, mh) {
                    (1, _) => 3,
                    (_, 1) => 4,
                    _ => 5,
                };
                assert_eq!(asked, expected_questions, "{mw}x{mh} {chain} {module:?}");
                if mh > 1 && mw > 1 {
                    assert_eq!(found, truth);
                }
            }
        }
    }
}

#[test]
fn a_wrong_answer_is_caught_by_the_confirmation_and_starts_again() {
    let truth = Wiring::new(4, 1).unwrap().with_module(ModuleWiring::FC16).with_chain(ChainOrder::Reversed);
    let chain = VirtualChain::new(4).with_layout(sim_layout(&truth)).unwrap();
    let mut wizard = Wizard::new(4, 1).unwrap();
    let mut out =
        Output::with_bus(Bus::Chain(chain), Box::new(NoView), wizard.base_wiring(), Intensity::default())
            .unwrap();
    // The person misreads the arrow.
    assert_eq!(wizard.answer(Answer::Module { column: 3, row: 0 }), Ok(Step::Ask(Question::ArrowDirection)));
    assert_eq!(wizard.answer(Answer::Direction(Direction::Up)), Ok(Step::Ask(Question::Mirrored)));
    assert_eq!(wizard.answer(Answer::No), Ok(Step::Ask(Question::Confirm)));
    out.show(&wizard.picture()).unwrap();
    let px = out.driver_mut().spi().chain().unwrap().pixels();
    assert!(!numbers_read_in_order(&px, 4, 1), "a wrong wiring cannot show the numbers right:\n{px}");
    assert_eq!(wizard.answer(Answer::No), Ok(Step::Ask(Question::WhichModuleIsLit { chain_index: 0 })));
    let (found, _) = run_wizard(truth);
    assert_eq!(found, truth);
}
