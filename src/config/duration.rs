//! Durations as people write them in a config file: `"1.5s"`, `"500ms"`, `"2m"`, `"1h"`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Parses `"1.5s"`, `"500ms"`, `"2m"`, `"1h"`: a non-negative number and a unit. A bare
/// number is refused, because `refresh_every = 60` could mean seconds or milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?} (write e.g. \"1.5s\", \"500ms\", \"2m\")"))?;
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "" => return Err(format!("duration {text:?} needs a unit: ms, s, m or h")),
        _ => return Err(format!("invalid duration unit in {text:?} (ms, s, m or h)")),
    };
    let secs = value * scale;
    // A year is far beyond any display timing; the bound keeps the conversion exact.
    if !(0.0..=365.0 * 86_400.0).contains(&secs) {
        return Err(format!("duration {text:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A [`Duration`] that deserializes from the text form above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfigDuration(pub Duration);

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = ConfigDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"1.5s\" or \"500ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigDuration, E> {
                parse_duration(v).map(ConfigDuration).map_err(E::custom)
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        let ms = Duration::from_millis;
        for (text, want) in
            [("500ms", ms(500)), ("1.5s", ms(1500)), ("2m", ms(120_000)), (" 1h ", ms(3_600_000))]
        {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refusals_say_why() {
        assert!(parse_duration("60").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("5 fortnights").unwrap_err().contains("unit"));
        assert!(parse_duration("-1s").unwrap_err().contains("invalid duration"));
        assert!(parse_duration("1e9h").is_err());
        assert!(parse_duration("").is_err());
    }
}
