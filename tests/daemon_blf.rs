//! The busy-lamp field through the whole rig: the mock FreeSWITCH rings, answers, holds
//! (`uuid_hold`, as switch_ivr.c `switch_ivr_hold` / `switch_ivr_unhold` do it), hangs up and
//! unregisters; the daemon follows on a virtual chain under paused time; the goldens in
//! golden/daemon/blf_*.snap list each picture with its time and what each cell reads as
//! (regenerate with `INSTA_UPDATE=always`).
//!
//! Both layouts: four extensions as labelled blocks on eight modules, a hundred as single
//! LEDs on two. The call alerts are off, so the page is all there is to see.

use std::sync::Arc;
use std::time::Duration;

use eslmatrix::render::lamps::{FAINT_EVERY, FAST_BLINK, SLOW_BLINK};
use eslmatrix::render::{Frame, Lamp, LampField};
use eslmatrix_sim::fs::fault::Fault;
use eslmatrix_sim::fs::pbx::{ApiOutput, Party, Pbx};
use tokio::time::sleep;

use crate::story::{screen, story, Played, Screen, Setup, Watch};

const SECS: fn(u64) -> Duration = Duration::from_secs;
const MS: fn(u64) -> Duration = Duration::from_millis;

macro_rules! golden {
    ($name:expr, $text:expr) => {
        insta::with_settings!({snapshot_path => "../golden/daemon", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

/// Eight modules: 1000-1003 as blocks labelled with all four digits.
const BLOCKS: (Screen, u32) = (screen(64), 64);
/// Two modules: a hundred extensions as single LEDs.
const DOTS: (Screen, u32) = (screen(16), 16);

/// Only the lamps: the call alerts would take the display over.
const LAMPS_ONLY: &str = "[alerts.incoming]\nenabled = false\n\
                          [alerts.answered]\nenabled = false\n\
                          [alerts.hung_up]\nenabled = false\n";

fn extensions(first: u32, n: u32) -> Arc<[String]> {
    (first..first + n).map(|e| e.to_string()).collect()
}

/// The BLF page of `first`..`first+n` on `display`, phones 1000-1002 registered (1002 by
/// WebRTC), no call alerts.
fn blf_story(first: u32, n: u32, display: (Screen, u32)) -> Setup {
    let page = format!("[[page]]\nkind = \"blf\"\nextensions = [\"{first}-{}\"]\n", first + n - 1);
    story(&[]).phones().screen(display.0).config(&format!("{page}{LAMPS_ONLY}"))
}

/// The field as the renderer draws it, `t` into the page.
fn field(exts: &Arc<[String]>, lamps: &[Lamp], width: u32, t: Duration) -> Vec<String> {
    let mut f = Frame::new(width, 8);
    LampField { extensions: exts.clone(), lamps: lamps.to_vec() }.draw(&mut f, t);
    f.to_rows()
}

/// What each block of a picture reads as: `idle`, `lit`, `faint`, or `?`.
fn read_blocks(rows: &[String], exts: &Arc<[String]>, width: u32) -> Vec<&'static str> {
    let cell = (width as usize) / exts.len();
    let looks = [(Lamp::Dark, "idle"), (Lamp::Lit, "lit"), (Lamp::Faint, "faint")]
        .map(|(l, name)| (field(exts, &vec![l; exts.len()], width, Duration::ZERO), name));
    (0..exts.len())
        .map(|i| {
            let part = |r: &[String]| {
                r.iter().map(|row| row[i * cell..(i + 1) * cell].to_owned()).collect::<Vec<_>>()
            };
            looks.iter().find(|(pic, _)| part(pic) == part(rows)).map_or("?", |(_, name)| *name)
        })
        .collect()
}

/// The words a picture shows instead of lamps (the link's state, an alert), if any.
fn words(rows: &[String], display: Screen) -> Option<String> {
    let mut texts: Vec<String> =
        ["NO LINK", "LINK UP", "CONNECTING", "BLF ?~", "BLF ?"].iter().map(|t| (*t).to_owned()).collect();
    texts.extend((0..10).map(|s| format!("NO LINK {s}s")));
    texts.iter().find_map(|t| {
        (display.page(t) == rows)
            .then(|| t.clone())
            .or_else(|| (display.framed(t) == rows).then(|| format!("{t} (framed)")))
    })
}

/// The extensions whose LED is on in a dots picture (64 per module, eight per row).
fn read_dots(rows: &[String], exts: &Arc<[String]>) -> Vec<String> {
    (0..exts.len())
        .filter(|i| {
            let (m, j) = (i / 64, i % 64);
            rows[j / 8].as_bytes()[m * 8 + j % 8] == b'#'
        })
        .map(|i| exts[i].clone())
        .collect()
}

/// Numbered extensions as runs: `1001-1002, 1005`.
fn runs(exts: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < exts.len() {
        let mut j = i;
        while j + 1 < exts.len()
            && exts[j + 1].parse::<u64>().ok() == exts[j].parse::<u64>().ok().map(|n| n + 1)
        {
            j += 1;
        }
        out.push(if i == j { exts[i].clone() } else { format!("{}-{}", exts[i], exts[j]) });
        i = j + 1;
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join(", ")
    }
}

/// The timeline as a golden: each picture's time and reading, its rows the first time it shows.
fn timeline(played: &Played, read: impl Fn(&[String]) -> String) -> String {
    let mut out = String::new();
    let mut shown: Vec<Vec<String>> = Vec::new();
    for (at, rows) in played.seen() {
        let known = shown.iter().position(|r| *r == rows);
        let tag = if let Some(k) = known {
            format!("P{k}")
        } else {
            shown.push(rows.clone());
            format!("P{} (new)", shown.len() - 1)
        };
        out.push_str(&format!("+{:.3}s {tag}: {}\n", at.as_secs_f64(), read(&rows)));
        if known.is_none() {
            for r in &rows {
                out.push_str(r);
                out.push('\n');
            }
        }
    }
    out
}

/// When one extension's reading changed, from the story's start: (time, reading).
fn changes<T: PartialEq + Clone>(played: &Played, read: impl Fn(&[String]) -> T) -> Vec<(Duration, T)> {
    let mut out: Vec<(Duration, T)> = Vec::new();
    for (at, rows) in played.seen() {
        let now = read(&rows);
        if out.last().map(|(_, r)| r) != Some(&now) {
            out.push((at, now));
        }
    }
    out
}

/// The intervals between consecutive changes that started within `from..to`.
fn periods<T>(changes: &[(Duration, T)], from: Duration, to: Duration) -> Vec<Duration> {
    let inside: Vec<Duration> =
        changes.iter().map(|(at, _)| *at).filter(|at| *at >= from && *at < to).collect();
    inside.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Starts the story on a whole multiple of [`FAINT_EVERY`] of the display's clock. Lamps blink
/// in phase with the page, which showed from the daemon's first picture (the clock's zero),
/// and every blink period divides it: so each edge falls at the same time of the story
/// however long the connect took.
async fn on_the_beat(watch: &Watch) {
    let now = watch.now();
    let beat = FAINT_EVERY.as_nanos();
    let next = Duration::from_nanos(((now.as_nanos() / beat + 1) * beat) as u64);
    sleep(next - now).await;
    watch.mark_start();
}

fn hold(pbx: &Pbx, args: &str) {
    match pbx.api("uuid_hold", args) {
        ApiOutput::Text(t) => assert_eq!(t, "+OK Success\n", "uuid_hold {args}"),
        other => panic!("uuid_hold {args}: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn blocks_follow_ring_answer_hold_hang_up_and_unregister() {
    let exts = extensions(1000, 4);
    let (_, width) = BLOCKS;
    let first = field(&exts, &[Lamp::Dark, Lamp::Dark, Lamp::Dark, Lamp::Faint], width, Duration::ZERO);
    let story = blf_story(1000, 4, BLOCKS).start().await;
    let pbx = story.pbx();
    let played = story
        .play_timed(first.clone(), |watch| async move {
            on_the_beat(&watch).await;
            let call = pbx.start_call("1001", "1000", Some("Alice")).unwrap();
            let b = call.b.clone().expect("1000 rings");
            sleep(SECS(2)).await;
            pbx.answer(&call).unwrap();
            sleep(SECS(2)).await;
            hold(&pbx, &b);
            sleep(SECS(3)).await;
            hold(&pbx, &format!("off {b}"));
            sleep(SECS(2)).await;
            pbx.hangup(&call, Party::Caller).unwrap();
            sleep(SECS(2)).await;
            pbx.unregister("1002").unwrap();
            sleep(SECS(2)).await;
        })
        .await;
    let read = |rows: &[String]| read_blocks(rows, &exts, width);
    let cell = |i: usize| changes(&played, move |rows| read(rows)[i]);
    let (callee, caller) = (cell(0), cell(1));
    // Ringing: 1000 blinks every FAST_BLINK from the call on, 1001 (dialling) is lit.
    // The call's first events land within the instant the story starts.
    assert_eq!(callee[0], (Duration::ZERO, "lit"), "1000 rings at once");
    let ringing = periods(&callee, MS(10), SECS(2));
    assert!(ringing.len() >= 14 && ringing.iter().all(|p| *p == FAST_BLINK), "{ringing:?}");
    assert_eq!(caller[0], (Duration::ZERO, "lit"));
    assert!(caller.len() == 2 && caller[1].0 >= SECS(9), "1001 lit until the hang-up: {caller:?}");
    // Held: 1000 blinks every SLOW_BLINK; answered, then taken off hold, it is lit.
    let held = periods(&callee, SECS(4) + MS(10), SECS(7));
    assert!(held.len() >= 4 && held.iter().all(|p| *p == SLOW_BLINK), "{held:?}");
    let steady =
        |from: Duration, to: Duration| callee.iter().filter(|(at, _)| *at > from && *at < to).count();
    assert_eq!(steady(SECS(2) + MS(10), SECS(4)), 0, "answered: steady");
    assert_eq!(steady(SECS(7) + MS(10), SECS(9)), 0, "off hold: steady");
    // Hung up: both idle; unregistered: 1002 faint, 1003 stays faint.
    let last = played.seen().last().map(|(_, r)| read(r)).expect("pictures");
    assert_eq!(last, ["idle", "idle", "faint", "faint"]);
    let unregistered = cell(2);
    assert!(unregistered
        .last()
        .is_some_and(|(at, s)| *s == "faint" && *at >= SECS(11) && *at <= SECS(11) + MS(10)));
    golden!("blf_blocks", timeline(&played, |rows| read(rows).join(" · ")));
}

#[tokio::test(start_paused = true)]
async fn dots_follow_ring_answer_hold_hang_up_and_unregister() {
    let exts = extensions(1000, 100);
    let (_, width) = DOTS;
    // Only 1000-1002 are registered: the other 97 blip together, a twentieth of the time.
    let mut lamps = vec![Lamp::Faint; 100];
    lamps[..3].fill(Lamp::Dark);
    let story = blf_story(1000, 100, DOTS).start().await;
    let pbx = story.pbx();
    let played = story
        .play_timed(field(&exts, &lamps, width, SECS(1)), |watch| async move {
            on_the_beat(&watch).await;
            let call = pbx.start_call("1002", "1001", None).unwrap();
            let b = call.b.clone().expect("1001 rings");
            sleep(SECS(2)).await;
            pbx.answer(&call).unwrap();
            sleep(SECS(2)).await;
            hold(&pbx, &call.a);
            sleep(SECS(3)).await;
            pbx.hangup(&call, Party::Callee).unwrap();
            sleep(SECS(2)).await;
            pbx.unregister("1000").unwrap();
            sleep(SECS(4)).await;
            let _ = b;
        })
        .await;
    let lit = |rows: &[String]| read_dots(rows, &exts);
    let one = |ext: &'static str| changes(&played, move |rows| lit(rows).iter().any(|e| e == ext));
    let (callee, caller, idle) = (one("1001"), one("1002"), one("1000"));
    let ringing = periods(&callee, MS(10), SECS(2));
    assert!(ringing.len() >= 14 && ringing.iter().all(|p| *p == FAST_BLINK), "1001 rings: {ringing:?}");
    // The caller (WebRTC 1002) holds: its LED blinks slowly while 1001 stays lit.
    let held = periods(&caller, SECS(4) + MS(10), SECS(7));
    assert!(held.len() >= 4 && held.iter().all(|p| *p == SLOW_BLINK), "1002 on hold: {held:?}");
    assert!(callee.iter().all(|(at, _)| *at < SECS(2) + MS(10) || *at >= SECS(7)), "1001 steady in its call");
    assert_eq!(idle.len(), 1 + 2 * 2, "1000 dark until it unregisters, then blips with the others: {idle:?}");
    let blip = periods(&idle, SECS(9), SECS(14));
    assert!(blip.iter().all(|p| *p == MS(100) || *p == MS(1900)), "{blip:?}");
    golden!("blf_dots", timeline(&played, |rows| format!("on: {}", runs(&lit(rows)))));
}

#[tokio::test(start_paused = true)]
async fn after_a_lost_link_the_lamps_come_back_from_the_rebuild() {
    let exts = extensions(1000, 4);
    let (display, width) = BLOCKS;
    let first = field(&exts, &[Lamp::Dark, Lamp::Dark, Lamp::Dark, Lamp::Faint], width, Duration::ZERO);
    let story = blf_story(1000, 4, BLOCKS).start().await;
    let pbx = story.pbx();
    let faults = story.faults();
    let played = story
        .play_timed(first, |watch| async move {
            on_the_beat(&watch).await;
            let call = pbx.start_call("1001", "1000", None).unwrap();
            let b = call.b.clone().expect("1000 rings");
            sleep(SECS(1)).await;
            // The next event breaks the connection: the answer and the hold are never seen as
            // events, only in the rebuild's `show channels as json` after the reconnect.
            faults.inject(Fault::CloseMidHeader);
            // The connection takes the fault in before anything else is written.
            sleep(MS(50)).await;
            pbx.answer(&call).unwrap();
            hold(&pbx, &b);
            // Past the LINK UP alert, which waits a page's time after the NO LINK one (the
            // scene's gap rule); ends between two blink edges.
            sleep(SECS(13) + MS(250)).await;
        })
        .await;
    let read = |rows: &[String]| match words(rows, display) {
        Some(w) => w,
        None => read_blocks(rows, &exts, width).join(" · "),
    };
    let seen = played.seen();
    let down = seen.iter().position(|(_, r)| words(r, display).is_some()).expect("the link loss showed");
    assert!(seen[down].0 >= SECS(1), "lost at {:?}", seen[down].0);
    let back =
        down + seen[down..].iter().position(|(_, r)| words(r, display).is_none()).expect("lamps came back");
    // Between the loss and the lamps' return, only words: the link's state, never a lamp.
    assert!(
        seen[down..back].iter().all(|(_, r)| read(r).starts_with("NO LINK")
            || read(r).starts_with("LINK UP")
            || read(r).starts_with("BLF ?")),
        "{:?}",
        seen[down..back].iter().map(|(_, r)| read(r)).collect::<Vec<_>>()
    );
    // After it: 1000 on hold (blinking slowly), 1001 in its call, from the listing alone.
    let up = back + seen[back..].iter().position(|(_, r)| words(r, display).is_some()).expect("LINK UP");
    assert_eq!(
        words(&seen[up].1, display).as_deref(),
        Some("LINK UP"),
        "the news, once the page had its turn"
    );
    let after: Vec<(Duration, Vec<&str>)> =
        seen[back..up].iter().map(|(at, r)| (*at, read_blocks(r, &exts, width))).collect();
    assert!(after.iter().all(|(_, r)| r[1] == "lit" && r[2] == "idle" && r[3] == "faint"), "{after:?}");
    let callee: Vec<(Duration, &str)> = after.iter().map(|(at, r)| (*at, r[0])).collect();
    let held = periods(&callee, Duration::ZERO, SECS(60));
    assert!(held.len() >= 4 && held.iter().all(|p| *p == SLOW_BLINK), "{held:?}");
    assert!(played.stats[0].sessions >= 2);
    golden!("blf_reconnect", timeline(&played, read));
}
