//! Which backend, as `--backend` (and a config file) names it, and everything needed to
//! open an [`Output`](super::Output): [`OutputSpec`].

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::driver::{Intensity, PowerBudget, Wiring};

use super::{gif, spidev, window};

/// Which backend, as `--backend` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendSpec {
    /// An ANSI picture of the LEDs in the terminal, redrawn in place.
    Terminal,
    /// Prints the final picture as `#`/`.` rows.
    Virtual,
    /// Every CS transaction as one hex line (the format `replay` reads).
    SpiLog(PathBuf),
    /// The LED look of the final picture as a PNG.
    Png(PathBuf),
    /// The LED look in a desktop window, `pitch` pixels per LED.
    Window {
        /// Pixels per LED.
        pitch: u32,
    },
    /// The LED look recorded as an animated GIF in real time, `pitch` pixels per LED.
    Gif {
        /// The file written.
        path: PathBuf,
        /// Pixels per LED.
        pitch: u32,
    },
    /// The physical chain on a spidev device (needs the `hardware` feature).
    Spidev(PathBuf),
}

/// Where frames go, on which display: what [`Output::open`](super::Output::open) and
/// [`with_output`](super::with_output) need. The command line and the config file both
/// build one; neither knows the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// The wire and the view.
    pub backend: BackendSpec,
    /// The display.
    pub wiring: Wiring,
    /// Its brightness at start.
    pub intensity: Intensity,
    /// The SPI clock, for the spidev backend.
    pub spi_speed: spidev::SpiSpeed,
    /// The chain's power budget, if any.
    pub power: Option<PowerBudget>,
}

/// A `--backend` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendSpecError {
    /// A file backend without its file.
    #[error("backend {0} needs a file: {0}:FILE")]
    NeedsFile(&'static str),
    /// A pitch out of [`PITCHES`].
    #[error("{what} {value:?}: expected pixels per LED, {}..={}", PITCHES.start(), PITCHES.end())]
    Pitch {
        /// `window scale` or `gif pitch`.
        what: &'static str,
        /// As given.
        value: String,
    },
    /// Not a backend's name.
    #[error(
        "unknown backend {0:?}: expected terminal, virtual, window[:SCALE], spilog:FILE, png:FILE, \
         gif:FILE[:PITCH] or spidev[:DEVICE]"
    )]
    Unknown(String),
}

impl BackendSpec {
    /// Whether frames should be paced in real time (someone is watching, or a recording
    /// keeps the timing).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            BackendSpec::Terminal
                | BackendSpec::Window { .. }
                | BackendSpec::Gif { .. }
                | BackendSpec::Spidev(_)
        )
    }

    /// The file this backend writes, if it writes one.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            BackendSpec::SpiLog(path) | BackendSpec::Png(path) | BackendSpec::Gif { path, .. } => Some(path),
            _ => None,
        }
    }

    /// How often a loop that otherwise sleeps should ask
    /// [`Output::is_open`](super::Output::is_open): a window can be closed at any time; the
    /// terminal and the file views cannot, so they are never asked.
    pub fn close_poll(&self) -> Option<Duration> {
        match self {
            BackendSpec::Terminal | BackendSpec::Virtual | BackendSpec::SpiLog(_) | BackendSpec::Png(_) => {
                None
            }
            BackendSpec::Window { .. } | BackendSpec::Gif { .. } | BackendSpec::Spidev(_) => {
                Some(Duration::from_millis(100))
            }
        }
    }
}

/// Accepted LED spacings for `window:SCALE` and `gif:FILE:PITCH`, in pixels.
pub const PITCHES: std::ops::RangeInclusive<u32> = 2..=64;

fn parse_pitch(s: &str, what: &'static str) -> Result<u32, BackendSpecError> {
    match s.parse::<u32>() {
        Ok(p) if PITCHES.contains(&p) => Ok(p),
        _ => Err(BackendSpecError::Pitch { what, value: s.to_owned() }),
    }
}

/// The `--backend` spelling, which parses back to the same backend.
impl std::fmt::Display for BackendSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendSpec::Terminal => f.write_str("terminal"),
            BackendSpec::Virtual => f.write_str("virtual"),
            BackendSpec::SpiLog(path) => write!(f, "spilog:{}", path.display()),
            BackendSpec::Png(path) => write!(f, "png:{}", path.display()),
            BackendSpec::Window { pitch } => write!(f, "window:{pitch}"),
            BackendSpec::Gif { path, pitch } => write!(f, "gif:{}:{pitch}", path.display()),
            BackendSpec::Spidev(path) => write!(f, "spidev:{}", path.display()),
        }
    }
}

impl FromStr for BackendSpec {
    type Err = BackendSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let path = |what: &'static str| match arg {
            Some(a) if !a.is_empty() => Ok(PathBuf::from(a)),
            _ => Err(BackendSpecError::NeedsFile(what)),
        };
        match kind {
            "terminal" => Ok(BackendSpec::Terminal),
            "virtual" => Ok(BackendSpec::Virtual),
            "spilog" => Ok(BackendSpec::SpiLog(path("spilog")?)),
            "png" => Ok(BackendSpec::Png(path("png")?)),
            "window" => match arg {
                None => Ok(BackendSpec::Window { pitch: window::DEFAULT_PITCH }),
                Some(a) => Ok(BackendSpec::Window { pitch: parse_pitch(a, "window scale")? }),
            },
            "gif" => {
                let whole = path("gif")?;
                // `gif:FILE:PITCH` when the last part is a number; a path may hold colons.
                let text = whole.to_string_lossy();
                match text.rsplit_once(':') {
                    Some((file, pitch)) if !file.is_empty() && pitch.bytes().all(|b| b.is_ascii_digit()) => {
                        Ok(BackendSpec::Gif {
                            path: PathBuf::from(file),
                            pitch: parse_pitch(pitch, "gif pitch")?,
                        })
                    }
                    _ => Ok(BackendSpec::Gif { path: whole, pitch: gif::DEFAULT_PITCH }),
                }
            }
            "spidev" => Ok(BackendSpec::Spidev(match arg {
                Some(a) if !a.is_empty() => PathBuf::from(a),
                _ => PathBuf::from(spidev::DEFAULT_DEVICE),
            })),
            other => Err(BackendSpecError::Unknown(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_print_as_they_parse() {
        for text in [
            "terminal",
            "virtual",
            "spilog:a.txt",
            "png:a.png",
            "window:24",
            "gif:a:b.gif:12",
            "spidev:/dev/spidev0.1",
        ] {
            let spec: BackendSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!("spidev".parse::<BackendSpec>().unwrap().to_string(), "spidev:/dev/spidev0.0");
    }

    #[test]
    fn backends_parse_with_their_options() {
        assert_eq!("window".parse(), Ok(BackendSpec::Window { pitch: window::DEFAULT_PITCH }));
        assert_eq!("window:24".parse(), Ok(BackendSpec::Window { pitch: 24 }));
        assert_eq!(
            "gif:out.gif".parse(),
            Ok(BackendSpec::Gif { path: "out.gif".into(), pitch: gif::DEFAULT_PITCH })
        );
        assert_eq!("gif:a:b.gif:12".parse(), Ok(BackendSpec::Gif { path: "a:b.gif".into(), pitch: 12 }));
        assert_eq!("gif:a:b.gif".parse(), Ok(BackendSpec::Gif { path: "a:b.gif".into(), pitch: 8 }));
        for bad in ["window:0", "window:big", "window:1000", "gif:", "gif:x.gif:1"] {
            let err = bad.parse::<BackendSpec>().unwrap_err().to_string();
            assert!(!err.contains('\n'), "{bad}: {err}");
            assert!(err.contains("pixels per LED") || err.contains("needs a file"), "{bad}: {err}");
        }
        assert!(BackendSpec::Window { pitch: 8 }.is_live());
        assert!(!BackendSpec::Virtual.is_live());
    }
}
