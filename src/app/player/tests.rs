use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::*;
use crate::app::recording::Recording;
use crate::backend::{virtual_chain, Bus, Output};
use crate::driver::wiring::Wiring;
use crate::driver::Intensity;
use crate::render::{render_aligned, render_text, Align};
use crate::scene::{CueStyle, Page, SceneConfig, Template};
use crate::status::{LinkState, PbxStatus, RefreshCommand as Cmd, RefreshResult};

const MS: fn(u64) -> Duration = Duration::from_millis;
const LONG: &str = "Incoming call from Alice (1001)";

fn cue(text: &str, style: CueStyle) -> Cue {
    Cue::text(text, style, CueKind::Page)
}

fn opts(mode: ScrollMode) -> PlayerOptions {
    PlayerOptions { speed: Speed::new(10.0).unwrap(), delay: MS(1000), mode, ..PlayerOptions::default() }
}

fn drawn(a: &Animation, t: Duration) -> Frame {
    let mut f = Frame::new(32, 8);
    a.draw(t, &mut f);
    f
}

/// The text's strip with its left edge at display column `x`.
fn at_x(text: &str, x: i32) -> Frame {
    let mut f = Frame::new(32, 8);
    f.blit(&render_text(text, Font::Proportional8), x, 0);
    f
}

#[test]
fn text_that_fits_is_still_and_aligned() {
    let style = CueStyle { align: Align::Right, ..CueStyle::default() };
    let a = Animation::new(cue("12", style), 32, opts(ScrollMode::Continuous { gap: 0 }));
    assert!(!a.scrolls());
    assert_eq!(drawn(&a, MS(0)), render_aligned("12", Font::Proportional8, 32, 8, Align::Right));
    assert_eq!(a.next_change(MS(0)), None);
    assert_eq!(a.next_change(Duration::from_secs(3600)), None);
}

#[test]
fn continuous_starts_left_aligned_holds_the_delay_then_moves_a_column_per_step() {
    let a = Animation::new(cue(LONG, CueStyle::default()), 32, opts(ScrollMode::Continuous { gap: 8 }));
    assert!(a.scrolls());
    assert_eq!(drawn(&a, MS(0)), at_x(LONG, 0));
    assert_eq!(drawn(&a, MS(999)), at_x(LONG, 0));
    assert_eq!(a.next_change(MS(0)), Some(MS(1000)));
    // 10 columns per second: a column every 100 ms once the delay is over.
    assert_eq!(drawn(&a, MS(1000)), at_x(LONG, 0));
    assert_eq!(a.next_change(MS(1000)), Some(MS(1100)));
    assert_eq!(drawn(&a, MS(1100)), at_x(LONG, -1));
    assert_eq!(drawn(&a, MS(1750)), at_x(LONG, -7));
    // After the text has gone and the gap has passed, it comes in from the right and is
    // back at the start, where the delay holds it again.
    let tw = u64::from(render_text(LONG, Font::Proportional8).width());
    let cycle = tw + 32 + 1 + 8;
    let period = MS(1000 + cycle * 100);
    assert_eq!(drawn(&a, period - MS(50)), at_x(LONG, 1));
    assert_eq!(drawn(&a, period), at_x(LONG, 0));
    assert_eq!(a.next_change(period), Some(period + MS(1000)));
    // In the gap the display is blank.
    let gap_time = MS(1000 + (tw + 3) * 100 + 50);
    assert_eq!(drawn(&a, gap_time).lit(), 0);
}

#[test]
fn stop_mode_holds_the_end_for_the_dwell_then_starts_over() {
    let a = Animation::new(cue(LONG, CueStyle::default()), 32, opts(ScrollMode::Stop { dwell: MS(2000) }));
    let tw = render_text(LONG, Font::Proportional8).width() as i32;
    let travel = (tw - 32) as u64;
    let end = MS(1000 + travel * 100);
    assert_eq!(drawn(&a, end), at_x(LONG, 32 - tw));
    assert_eq!(drawn(&a, end + MS(1999)), at_x(LONG, 32 - tw));
    assert_eq!(a.next_change(end), Some(end + MS(2000)));
    assert_eq!(drawn(&a, end + MS(2000)), at_x(LONG, 0));
    assert_eq!(drawn(&a, end + MS(3150)), at_x(LONG, -1));
}

#[test]
fn once_comes_in_from_the_right_and_ends_blank() {
    let a = Animation::new(cue(LONG, CueStyle::default()), 32, opts(ScrollMode::Once));
    assert_eq!(drawn(&a, MS(0)).lit(), 0);
    assert_eq!(drawn(&a, MS(100)), at_x(LONG, 31));
    assert_eq!(drawn(&a, Duration::from_secs(3600)).lit(), 0);
    assert_eq!(a.next_change(Duration::from_secs(3600)), None);
}

#[test]
fn blink_and_invert() {
    let style = CueStyle { blink: true, invert: true, ..CueStyle::default() };
    let a = Animation::new(cue("ok", style), 32, opts(ScrollMode::Continuous { gap: 0 }));
    let mut lit = render_aligned("ok", Font::Proportional8, 32, 8, Align::Center);
    lit.invert();
    assert_eq!(drawn(&a, MS(0)), lit);
    assert_eq!(a.next_change(MS(0)), Some(MS(500)));
    assert_eq!(drawn(&a, MS(500)).lit(), 0);
    assert_eq!(a.next_change(MS(700)), Some(MS(1000)));
    // The display-wide invert cancels the cue's own.
    let global = PlayerOptions { invert: true, ..opts(ScrollMode::Continuous { gap: 0 }) };
    let plain = Animation::new(cue("ok", CueStyle { invert: true, ..CueStyle::default() }), 32, global);
    assert_eq!(drawn(&plain, MS(0)), render_aligned("ok", Font::Proportional8, 32, 8, Align::Center));
}

#[test]
fn a_framed_cue_keeps_its_text_and_blinks_the_frame() {
    let style = CueStyle { frame: true, ..CueStyle::default() };
    let a = Animation::new(cue("ok", style), 32, opts(ScrollMode::Continuous { gap: 0 }));
    let text = render_aligned("ok", Font::Proportional8, 32, 8, Align::Center);
    let mut framed = text.clone();
    for y in 0..8 {
        framed.set(0, y, true);
        framed.set(31, y, true);
    }
    assert_eq!(drawn(&a, MS(0)), framed, "the text between two lit bars");
    assert_eq!(a.next_change(MS(0)), Some(MS(500)));
    assert_eq!(drawn(&a, MS(500)), text, "the off phase shows the text alone, never a dark display");
    assert_eq!(a.next_change(MS(700)), Some(MS(1000)));
}

fn output(rec: &Recording) -> Output {
    let wiring = Wiring::new(4, 1).unwrap();
    let chain = virtual_chain(&wiring).unwrap();
    Output::with_bus(Bus::Chain(chain), rec.view(), wiring, Intensity::default()).unwrap()
}

fn up_view(calls: u64) -> StatusView {
    let now = Instant::now();
    let mut pbx = PbxStatus::new("pbx");
    pbx.set_link(LinkState::Up);
    pbx.begin_refresh();
    // Listings, so the figures are followed one by one (counts alone would be marked).
    let rows = |n: u64, row: &dyn Fn(u64) -> String| {
        let rows: Vec<String> = (0..n).map(row).collect();
        format!("{{\"row_count\": {n}, \"rows\": [{}]}}", rows.join(","))
    };
    let mut r = RefreshResult::default();
    let reg = |i| format!("{{\"reg_user\": \"u{i}\", \"realm\": \"r\", \"token\": \"t{i}\"}}");
    r.record(&Cmd::RegistrationsJson, &rows(3, &reg)).unwrap();
    let channel = |i| format!("{{\"uuid\": \"c{i}\", \"call_uuid\": \"c{i}\"}}");
    r.record(&Cmd::ChannelsJson, &rows(calls, &channel)).unwrap();
    pbx.apply_refresh(&r, now);
    pbx.view(now)
}

fn scene(template: &str) -> Scene {
    Scene::new(SceneConfig {
        pages: vec![Page::new(Template::parse(template).unwrap())],
        ..SceneConfig::default()
    })
}

#[tokio::test(start_paused = true)]
async fn a_static_picture_sleeps_and_a_burst_of_updates_is_one_render() {
    let rec = Recording::new();
    let mut out = output(&rec);
    let (tx, rx) = watch::channel(up_view(0));
    let (ntx, nrx) = mpsc::channel(16);
    let mut player = Player::new(scene("{calls}c"), PlayerOptions::default(), Combine::Each);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let feeder = async move {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        // 10 000 updates with no await between them: the player sees the last.
        for i in 1..=10_000 {
            tx.send_replace(up_view(i % 7));
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        let _ = stop_tx.send(());
        (tx, ntx)
    };
    let run = player.run(&mut out, Inputs { status: vec![rx], notices: nrx }, async {
        let _ = stop_rx.await;
    });
    let (_, _tx) = tokio::join!(run, feeder);
    // An hour of a still picture is one render; the burst adds one more.
    assert_eq!(player.frames(), 2, "renders: {}", player.frames());
    let shots = rec.shots();
    assert_eq!(shots.len(), 2);
    assert_eq!(shots[1].at, Duration::from_secs(3600));
    assert_eq!(shots[1].rows, render_aligned("4c", Font::Proportional8, 32, 8, Align::Center).to_rows());
}

#[tokio::test(start_paused = true)]
async fn notices_become_alerts_and_the_page_comes_back() {
    let rec = Recording::new();
    let mut out = output(&rec);
    let (_tx, rx) = watch::channel(up_view(1));
    let (ntx, nrx) = mpsc::channel(16);
    let mut player = Player::new(scene("{calls}c"), PlayerOptions::default(), Combine::Each);
    let script = async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ntx.send(Notice::Message("Hi!".into())).await.unwrap();
        // The message alert lasts 10 s by default; the page returns after it.
        tokio::time::sleep(Duration::from_secs(12)).await;
    };
    player.run(&mut out, Inputs { status: vec![rx], notices: nrx }, script).await;
    let page = render_aligned("1c", Font::Proportional8, 32, 8, Align::Center).to_rows();
    let hi = render_aligned("Hi!", Font::Proportional8, 32, 8, Align::Center).to_rows();
    let shots = rec.shots();
    let seq: Vec<_> = shots.iter().map(|s| (s.at.as_secs(), s.rows.clone())).collect();
    assert_eq!(seq, vec![(0, page.clone()), (1, hi), (11, page)]);
}

#[tokio::test(start_paused = true)]
async fn refresh_every_resends_the_chips_state_on_a_timer() {
    let rec = Recording::new();
    let mut out = output(&rec);
    let (_tx, rx) = watch::channel(up_view(1));
    let (_ntx, nrx) = mpsc::channel(16);
    let opts = PlayerOptions { refresh_every: Some(Duration::from_secs(60)), ..PlayerOptions::default() };
    let mut player = Player::new(scene("{calls}c"), opts, Combine::Each);
    let before = scan_limit_writes(&mut out);
    player
        .run(
            &mut out,
            Inputs { status: vec![rx], notices: nrx },
            tokio::time::sleep(Duration::from_secs(150)),
        )
        .await;
    // A refresh re-sends the configuration, scan limit included, to each of the 4 chips:
    // two refreshes, at 60 s and 120 s.
    assert_eq!(scan_limit_writes(&mut out) - before, 2 * 4);
}

fn scan_limit_writes(out: &mut Output) -> u64 {
    out.driver_mut().spi().chain().map_or(0, |c| c.stats().register_writes[0x0B])
}

#[tokio::test(start_paused = true)]
async fn blank_on_exit_darkens_the_display_only_when_asked() {
    for blank in [false, true] {
        let rec = Recording::new();
        let mut out = output(&rec);
        let (_tx, rx) = watch::channel(up_view(1));
        let (_ntx, nrx) = mpsc::channel(16);
        let opts = PlayerOptions { blank_on_exit: blank, ..PlayerOptions::default() };
        let mut player = Player::new(scene("{calls}c"), opts, Combine::Each);
        player.run(&mut out, Inputs { status: vec![rx], notices: nrx }, tokio::time::sleep(MS(10))).await;
        let lit = out.leds().unwrap().to_rows().concat().contains('#');
        assert_eq!(lit, !blank, "blank_on_exit = {blank}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_scrolling_page_whose_figures_change_keeps_its_place() {
    let rec = Recording::new();
    let mut out = output(&rec);
    let (tx, rx) = watch::channel(up_view(1));
    let (_ntx, nrx) = mpsc::channel(16);
    let template = "{calls} calls are up now on this switch";
    let mut player = Player::new(scene(template), PlayerOptions::default(), Combine::Each);
    let script = async move {
        tokio::time::sleep(MS(3000)).await;
        tx.send_replace(up_view(2));
        tokio::time::sleep(MS(100)).await;
    };
    player.run(&mut out, Inputs { status: vec![rx], notices: nrx }, script).await;
    let text = "2 calls are up now on this switch";
    // 1.5 s of delay, then 30 columns per second: at 3 s the text is 45 columns in.
    let shot = rec.shots().into_iter().find(|s| s.at >= MS(3000)).expect("a picture after the update");
    assert_eq!(shot.rows, at_x(text, -45).to_rows());
}

#[tokio::test(start_paused = true)]
async fn summed_servers_show_one_total() {
    let rec = Recording::new();
    let mut out = output(&rec);
    let view = |name: &str, calls| StatusView { server: name.into(), ..up_view(calls) };
    let (a_tx, a) = watch::channel(view("a", 2));
    let (_b_tx, b) = watch::channel(view("b", 3));
    let (_ntx, nrx) = mpsc::channel(16);
    let mut player = Player::new(scene("{calls}c"), PlayerOptions::default(), Combine::Sum);
    let script = async move {
        tokio::time::sleep(MS(1000)).await;
        a_tx.send_replace(view("a", 4));
        tokio::time::sleep(MS(1000)).await;
    };
    player.run(&mut out, Inputs { status: vec![a, b], notices: nrx }, script).await;
    let rows: Vec<_> = rec.shots().into_iter().map(|s| s.rows).collect();
    let shown = |t: &str| render_aligned(t, Font::Proportional8, 32, 8, Align::Center).to_rows();
    assert_eq!(rows, vec![shown("5c"), shown("7c")]);
}

#[test]
fn a_lamp_cue_draws_its_lamps_and_wakes_at_each_blink_edge() {
    use crate::render::lamps::FAST_BLINK;
    use crate::render::{Lamp, LampField};
    let extensions: std::sync::Arc<[String]> = (0..70).map(|i| format!("{}", 1000 + i)).collect();
    let mut lamps = vec![Lamp::Dark; 70];
    lamps[0] = Lamp::Lit;
    lamps[69] = Lamp::FastBlink;
    let cue = Cue { lamps: Some(LampField { extensions, lamps }), ..cue("BLF", CueStyle::default()) };
    let anim = Animation::for_display(cue, 16, 8, PlayerOptions::default());
    assert!(!anim.scrolls());
    let mut f = Frame::new(16, 8);
    anim.draw(Duration::ZERO, &mut f);
    assert!(f.get(0, 0) && f.get(13, 0) && f.lit() == 2, "extension 69 is the sixth LED of module 1");
    assert_eq!(anim.next_change(Duration::ZERO), Some(FAST_BLINK));
    anim.draw(FAST_BLINK, &mut f);
    assert_eq!(f.lit(), 1);
    let inverted = Animation::for_display(
        anim.cue().clone(),
        16,
        8,
        PlayerOptions { invert: true, ..PlayerOptions::default() },
    );
    inverted.draw(FAST_BLINK, &mut f);
    assert_eq!(f.lit(), 16 * 8 - 1, "the display's invert applies to lamps too");
}
