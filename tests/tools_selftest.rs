//! `selftest` on a VirtualChain: what each pattern shows, and the chip registers it uses.

use std::time::Duration;

use eslmatrix::backend::view::NoView;
use eslmatrix::backend::{sim_layout, Bus, Output};
use eslmatrix::driver::wiring::{ChainOrder, ModuleWiring, Wiring};
use eslmatrix::driver::{Intensity, PowerBudget};
use eslmatrix::tools::selftest::{self, Pace, Pattern};
use eslmatrix_sim::chain::VirtualChain;

/// What the person saw at one wait.
struct Seen {
    pattern: Pattern,
    rows: Vec<String>,
    test: Vec<bool>,
    intensity: Vec<u8>,
}

/// Plays each pattern once and writes down what the chain showed.
#[derive(Default)]
struct Recorder {
    current: Option<Pattern>,
    seen: Vec<Seen>,
}

impl Pace for Recorder {
    fn begin(&mut self, pattern: Pattern) {
        self.current = Some(pattern);
    }
    fn wait(&mut self, out: &mut Output, _: Option<Duration>, pass_done: bool) -> bool {
        let chain = out.driver_mut().spi().chain().expect("a virtual chain");
        self.seen.push(Seen {
            pattern: self.current.expect("begin before wait"),
            rows: chain.pixels().to_rows(),
            test: chain.chips().iter().map(eslmatrix_sim::chain::Chip::test).collect(),
            intensity: chain.chips().iter().map(eslmatrix_sim::chain::Chip::intensity).collect(),
        });
        pass_done
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

fn run(wiring: Wiring) -> (Recorder, VirtualChain) {
    let chain = VirtualChain::new(wiring.chips()).with_layout(sim_layout(&wiring)).unwrap();
    let mut out =
        Output::with_bus(Bus::Chain(chain), Box::new(NoView), wiring, Intensity::new(5).unwrap()).unwrap();
    let mut rec = Recorder::default();
    selftest::run(&mut out, &Pattern::ALL, &mut rec).unwrap();
    let Bus::Chain(chain) = out.driver_mut().spi() else { panic!("not a chain") };
    let chain = chain.clone();
    (rec, chain)
}

fn wide() -> Wiring {
    Wiring::new(4, 1).unwrap().with_module(ModuleWiring::FC16).with_chain(ChainOrder::Reversed)
}

fn square() -> Wiring {
    Wiring::new(2, 2).unwrap().with_module(ModuleWiring::ICSTATION).with_chain(ChainOrder::Serpentine)
}

fn of(rec: &Recorder, p: Pattern) -> Vec<&Seen> {
    rec.seen.iter().filter(|s| s.pattern == p).collect()
}

#[test]
fn each_pattern_reports_its_estimated_peak_current() {
    let wiring = wide();
    let chain = VirtualChain::new(wiring.chips()).with_layout(sim_layout(&wiring)).unwrap();
    let mut out =
        Output::with_bus(Bus::Chain(chain), Box::new(NoView), wiring, Intensity::new(5).unwrap()).unwrap();
    let peaks = selftest::run(&mut out, &Pattern::ALL, &mut Recorder::default()).unwrap();
    assert_eq!(peaks.iter().map(|(p, _)| *p).collect::<Vec<_>>(), Pattern::ALL);
    let peak = |p: Pattern| peaks.iter().find(|(q, _)| *q == p).map(|(_, ma)| *ma).unwrap();
    // Display test runs all 256 LEDs at 31/32 duty: 256 × 40 mA × 31/256.
    assert!((peak(Pattern::AllOn) - 1240.0).abs() < 0.5, "{peaks:?}");
    assert!(peaks.iter().all(|(_, ma)| *ma <= 1240.0 + 0.5), "nothing draws more than all on: {peaks:?}");
    assert!(peaks.iter().any(|(_, ma)| *ma < 200.0), "a sparse pattern draws little: {peaks:?}");
    // Half the LEDs at intensity 5: 128 × 40 mA × 11/256; nothing of the pattern before it.
    assert!((peak(Pattern::Checkerboard) - 220.0).abs() < 0.5, "{peaks:?}");
    // Under a budget, all-on is lit through the digit registers, which the budget dims.
    out.driver_mut().set_budget(Some(PowerBudget { max_ma: 500, raise_after: Duration::ZERO }));
    let peaks = selftest::run(&mut out, &[Pattern::AllOn], &mut Recorder::default()).unwrap();
    assert!(peaks[0].1 <= 500.0 && peaks[0].1 > 400.0, "{peaks:?}");
}

#[test]
fn all_on_uses_the_display_test_register_and_clears_it_after() {
    let (rec, chain) = run(wide());
    let all_on = of(&rec, Pattern::AllOn);
    assert_eq!(all_on.len(), 1);
    assert!(all_on[0].test.iter().all(|&t| t), "display test must be on in every chip");
    assert!(all_on[0].rows.iter().all(|r| !r.contains('.')), "every LED lit");
    // From the next pattern on, the test register is off again.
    let after: Vec<_> = rec.seen.iter().skip_while(|s| s.pattern == Pattern::AllOn).collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|s| s.test.iter().all(|&t| !t)));
    // The self-test ends with the last picture up, test off, at the intensity it was given.
    assert_eq!(chain.pixels().to_rows(), rec.seen.last().unwrap().rows);
    assert!(chain.chips().iter().all(|c| !c.test() && c.intensity() == 5));
}

#[test]
fn sweeps_light_exactly_one_row_or_column_at_a_time() {
    for wiring in [wide(), square()] {
        let (rec, _) = run(wiring);
        let (w, h) = wiring.logical_size();
        let rows = of(&rec, Pattern::RowSweep);
        assert_eq!(rows.len(), h as usize);
        for (i, s) in rows.iter().enumerate() {
            for (y, row) in s.rows.iter().enumerate() {
                let want = if y == i { "#" } else { "." }.repeat(w as usize);
                assert_eq!(row, &want, "row sweep step {i}");
            }
        }
        let cols = of(&rec, Pattern::ColumnSweep);
        assert_eq!(cols.len(), w as usize);
        for (i, s) in cols.iter().enumerate() {
            for row in &s.rows {
                let lit: Vec<_> = row.char_indices().filter(|&(_, c)| c == '#').map(|(x, _)| x).collect();
                assert_eq!(lit, [i], "column sweep step {i}");
            }
        }
    }
}

#[test]
fn brightness_steps_through_all_sixteen_levels() {
    let (rec, _) = run(square());
    let levels: Vec<_> = of(&rec, Pattern::Brightness).iter().map(|s| s.intensity.clone()).collect();
    let want: Vec<_> = (0..=15u8).map(|l| vec![l; 4]).collect();
    assert_eq!(levels, want);
    // Everything is lit except the level number on the first module.
    let first = &of(&rec, Pattern::Brightness)[0].rows;
    let dark = first.iter().map(|r| r.matches('.').count()).sum::<usize>();
    assert!(dark > 0 && dark < 20, "{first:?}");
}

#[test]
fn checkerboard_inverts() {
    let (rec, _) = run(wide());
    let boards = of(&rec, Pattern::Checkerboard);
    assert_eq!(boards.len(), 2);
    for (a, b) in boards[0].rows.iter().zip(&boards[1].rows) {
        assert!(a.chars().zip(b.chars()).all(|(x, y)| x != y));
    }
    assert!(boards[0].rows[0].starts_with("#.#."));
}

/// The still patterns, as a person would see them: chain indices follow the chain (the
/// reversed FC-16 row reads 3 2 1 0; the serpentine square 0 1 / 3 2) and stay upright.
#[test]
fn still_patterns_match_the_goldens() {
    for (name, wiring) in [("wide-fc16-reversed", wide()), ("square-icstation-serpentine", square())] {
        let (rec, _) = run(wiring);
        for p in [Pattern::ChainIndex, Pattern::Arrows, Pattern::Checkerboard] {
            let seen = of(&rec, p);
            insta::with_settings!({snapshot_path => "../golden/selftest", prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!(format!("{name}-{}", p.name()), seen[0].rows.join("\n"));
            });
        }
    }
}

#[test]
fn the_blf_patterns_show_each_lamp_through_the_wiring() {
    use eslmatrix::render::{Frame, Lamp};
    let wiring = wide();
    let chain = VirtualChain::new(wiring.chips()).with_layout(sim_layout(&wiring)).unwrap();
    let mut out =
        Output::with_bus(Bus::Chain(chain), Box::new(NoView), wiring, Intensity::new(5).unwrap()).unwrap();
    let mut rec = Recorder::default();
    selftest::run(&mut out, &Pattern::BLF, &mut rec).unwrap();
    let lit = |rows: &[String]| rows.iter().map(|r| r.matches('#').count()).sum::<usize>();
    let idle = &of(&rec, Pattern::BlfIdle)[0].rows;
    let call = &of(&rec, Pattern::BlfInCall)[0].rows;
    // Four modules: five extensions (one per lamp) in one-digit blocks of 3×7 lit LEDs.
    let field = Pattern::BlfIdle.lamp_field(32, 8);
    assert_eq!(field.extensions.len(), 5);
    assert_eq!(lit(idle) + lit(call), 5 * 3 * 7, "in a call is idle inverted in every block");
    for (p, half) in [(Pattern::BlfRinging, 2), (Pattern::BlfHeld, 2)] {
        let seen: Vec<&Vec<String>> = of(&rec, p).iter().map(|s| &s.rows).collect();
        assert_eq!(seen.len(), half, "{p:?}");
        assert_eq!((seen[0], seen[1]), (idle, call), "{p:?}: dark, then lit (the pass ends lit)");
    }
    let faint = &of(&rec, Pattern::BlfUnregistered)[0].rows;
    assert!(lit(faint) > 0 && lit(faint) < lit(idle), "not registered: sparser than idle");
    // The panel's last picture is every lamp in its lit phase, as the renderer draws it.
    let panel = of(&rec, Pattern::BlfPanel);
    let mut expected = Frame::new(32, 8);
    Pattern::BlfPanel.lamp_field(32, 8).draw(&mut expected, Duration::ZERO);
    assert_eq!(panel.last().unwrap().rows, expected.to_rows());
    assert_eq!(
        Pattern::BlfPanel.lamp_field(32, 8).lamps,
        [Lamp::Dark, Lamp::Lit, Lamp::FastBlink, Lamp::SlowBlink, Lamp::Faint]
    );
    assert!(panel.iter().any(|s| s.rows != expected.to_rows()), "and it blinks");
    let dots = of(&rec, Pattern::BlfDots);
    assert_eq!(Pattern::BlfDots.lamp_field(32, 8).extensions.len(), 256, "one per LED");
    assert_eq!(dots.len(), 80, "2 s in steps of 25 ms: every edge of every lamp");
}
