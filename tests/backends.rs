//! The window and GIF backends as a user meets them, through the binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use image::AnimationDecoder;

fn eslmatrix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run eslmatrix")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eslmatrix-backends-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// (delay in ms, composited picture) for every frame of a GIF file.
fn gif_frames(path: &PathBuf) -> Vec<(u32, image::RgbaImage)> {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let decoder = image::codecs::gif::GifDecoder::new(file).unwrap();
    decoder
        .into_frames()
        .collect_frames()
        .unwrap()
        .into_iter()
        .map(|f| {
            let (n, d) = f.delay().numer_denom_ms();
            (n / d, f.into_buffer())
        })
        .collect()
}

/// The LEDs of a GIF picture drawn `pitch` px per LED, as `#`/`.` rows (lit = red centre).
fn gif_rows(img: &image::RgbaImage, pitch: u32) -> String {
    let mut out = String::new();
    for y in 0..img.height() / pitch {
        for x in 0..img.width() / pitch {
            let p = img.get_pixel(x * pitch + pitch / 2, y * pitch + pitch / 2);
            out.push(if p[0] > 180 && p[1] < 90 { '#' } else { '.' });
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_window_backend_without_a_display_says_so() {
    let o = Command::new(env!("CARGO_BIN_EXE_eslmatrix"))
        .args(["text", "hi", "--backend", "window"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run eslmatrix");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "eslmatrix: no display for the window backend: set DISPLAY or use --backend terminal\n"
    );
}

#[test]
fn a_bad_window_scale_is_a_usage_error() {
    let o = eslmatrix(&["text", "hi", "--backend", "window:0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pixels per LED"), "{}", stderr(&o));
}

#[test]
fn still_text_records_a_still_gif_of_the_same_picture() {
    let path = scratch("still.gif");
    let backend = format!("gif:{}:5", path.display());
    let args = ["text", "Hi 42", "--align", "center", "--cascaded", "4"];
    let o = eslmatrix(&[&args[..], &["--backend", &backend]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let frames = gif_frames(&path);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, 2000, "a still picture is held 2 s");
    assert_eq!(frames[0].1.dimensions(), (32 * 5, 8 * 5));
    let virt = eslmatrix(&[&args[..], &["--backend", "virtual"]].concat());
    assert_eq!(gif_rows(&frames[0].1, 5), String::from_utf8_lossy(&virt.stdout));
}

#[test]
fn scrolling_text_records_an_animation_ending_where_the_scroll_stopped() {
    let path = scratch("scroll.gif");
    let backend = format!("gif:{}", path.display());
    let args = ["text", "Hello world", "--scroll", "always", "--speed", "200", "--steps", "12"];
    let o = eslmatrix(&[&args[..], &["--backend", &backend]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let frames = gif_frames(&path);
    // Twelve steps 5 ms apart: changes under 2/100 s are merged, so fewer frames.
    assert!(!frames.is_empty() && frames.len() <= 12, "{} frames", frames.len());
    let total: u32 = frames.iter().map(|f| f.0).sum();
    assert!(total >= 2000, "the last picture is held: {total} ms");
    assert!(frames.iter().all(|f| f.0 >= 20), "every frame shows for a browser");
    let (_, last) = frames.last().unwrap();
    let virt = eslmatrix(&[&args[..], &["--backend", "virtual"]].concat());
    assert_eq!(gif_rows(last, 8), String::from_utf8_lossy(&virt.stdout));
    assert!(gif_rows(last, 8).contains('#'), "mid-scroll text is visible");
}

#[test]
fn a_gif_in_a_missing_directory_is_a_usage_error() {
    let o = eslmatrix(&["text", "hi", "--backend", "gif:no/such/dir/x.gif"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/dir/x.gif"), "{}", stderr(&o));
}
