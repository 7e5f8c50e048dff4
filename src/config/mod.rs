//! The daemon's TOML configuration: servers, display wiring, fonts, scrolling, pages,
//! alerts and link timings. docs/configuration.md documents every key;
//! fixtures/config/eslmatrix.toml is a complete example.
//!
//! Everything is checked when the file loads, so a typo is a one-line error naming the key
//! at start-up, not a blank display later: unknown keys are refused (with their table and
//! line), templates are parsed, numbers are range-checked.
//!
//! ```
//! use eslmatrix::config::Config;
//!
//! let config = Config::parse(r#"
//!     [[server]]
//!     host = "pbx.example.com"
//!     [display]
//!     cascaded = 8
//!     [[page]]
//!     template = "{calls} calls"
//! "#, None).unwrap();
//! assert_eq!(config.daemon.servers[0].port, 8021);
//! assert_eq!(config.wiring.chips(), 8);
//!
//! let typo = Config::parse("[display]\nintensty = 3\n", None).unwrap_err();
//! assert!(typo.to_string().contains("unknown field `intensty`"));
//! ```

use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::app::daemon::DaemonSettings;
use crate::app::link::{LinkOptions, ServerConfig, DEFAULT_PASSWORD, DEFAULT_PORT, LOCAL_HOST};
use crate::app::player::{Combine, PlayerOptions, ScrollMode, DEFAULT_DWELL, DEFAULT_GAP, SUM_NAME};
use crate::backend::spidev::SpiSpeed;
use crate::backend::{BackendSpec, OutputSpec};
use crate::driver::{DisplaySpec, DisplaySpecError, Intensity, PowerBudget, Wiring};
use crate::render::lamps::{choose_layout, dot_capacity};
use crate::render::{Align, Blink, Speed};
use crate::scene::{
    AlertRule, AlertRules, CueStyle, Page, PageContent, Priority, SceneConfig, ScrollPolicy, Template,
    MAX_LINES,
};

pub mod extensions;

/// The environment variable that supplies the Event Socket password for servers whose
/// table has none, so the secret can stay out of the file.
pub const PASSWORD_ENV: &str = "ESLMATRIX_PASSWORD";

/// A configuration that cannot be used. The message is one line and names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl From<DisplaySpecError> for ConfigError {
    fn from(e: DisplaySpecError) -> Self {
        ConfigError(e.key_message("display"))
    }
}

/// A checked configuration, ready to run: the daemon's settings and the display.
#[derive(Debug, Clone)]
pub struct Config {
    /// Servers, link timings, player, scene.
    pub daemon: DaemonSettings,
    /// The display, from `[display]` and any command-line overrides.
    pub wiring: Wiring,
    /// The LEDs' brightness at start.
    pub intensity: Intensity,
    /// `[output] backend`: where the frames go when the command line does not say.
    pub backend: Option<BackendSpec>,
    /// `[output] spi_speed_hz`: the spidev backend's clock.
    pub spi_speed: SpiSpeed,
    /// `[display] max_current_ma`: the chain's power budget.
    pub power: Option<PowerBudget>,
}

impl Config {
    /// Checks a configuration given as TOML text. `password_env` is the value of
    /// [`PASSWORD_ENV`], if set.
    pub fn parse(text: &str, password_env: Option<&str>) -> Result<Self, ConfigError> {
        Self::parse_with_overrides(text, password_env, &DisplaySpec::default())
    }

    /// Checks a configuration, with display options from the command line taking
    /// precedence over the `[display]` table.
    pub fn parse_with_overrides(
        text: &str,
        password_env: Option<&str>,
        display: &DisplaySpec,
    ) -> Result<Self, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        file.check(password_env, display)
    }

    /// The configuration with no file: one local server, the default pages.
    pub fn defaults(password_env: Option<&str>, display: &DisplaySpec) -> Result<Self, ConfigError> {
        Self::parse_with_overrides("", password_env, display)
    }

    /// The output this configuration's display needs, on `backend`.
    pub fn output(&self, backend: BackendSpec) -> OutputSpec {
        OutputSpec {
            backend,
            wiring: self.wiring,
            intensity: self.intensity,
            spi_speed: self.spi_speed,
            power: self.power,
        }
    }
}

/// `text` on one line, control characters escaped: a message quotes the user's input, and
/// a raw escape sequence or line break in it would colour or split the terminal's line.
pub fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect()
}

/// Turns toml's multi-line report into one line: where, and what.
fn toml_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let mut place = String::new();
    if let Some(span) = e.span() {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        // The innermost table header above the error tells which section a key is in.
        let table = before
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| format!(" in {l}"))
            .unwrap_or_default();
        place = format!("line {line}{table}: ");
        // toml quotes the offending value; for the password that would put the secret in
        // the journal.
        let line_text = text[before.rfind('\n').map_or(0, |i| i + 1)..].lines().next().unwrap_or("");
        if line_text.trim_start().starts_with("password") {
            return ConfigError(format!("{place}password: expected a string in quotes (value not shown)"));
        }
    }
    ConfigError(format!("{place}{}", one_line(e.message().trim())))
}

/// The longest duration any key takes: a year is far beyond any display timing.
const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// Parses a duration as people write it in a config file (humantime's syntax: `"1.5s"`,
/// `"500ms"`, `"2m"`, `"1h 30m"`). A bare number is refused, because
/// `refresh_every = 60` could mean seconds or milliseconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| match e {
        humantime::DurationError::UnknownUnit { unit, .. } if unit.is_empty() => {
            format!("duration {text:?} needs a unit: ms, s, m or h")
        }
        e => format!("invalid duration {text:?}: {e} (write e.g. \"1.5s\", \"500ms\", \"2m\")"),
    })?;
    if d > MAX_DURATION {
        return Err(format!("duration {text:?} is out of range (at most a year)"));
    }
    Ok(d)
}

/// A [`Duration`] that deserializes from the text form [`parse_duration`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ConfigDuration(Duration);

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map(ConfigDuration).map_err(de::Error::custom)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileConfig {
    servers_shown: Combine,
    page_time: Option<ConfigDuration>,
    server: Vec<ServerFile>,
    display: DisplayFile,
    scroll: ScrollFile,
    blink: BlinkFile,
    page: Vec<PageFile>,
    alerts: AlertsFile,
    link: LinkFile,
    output: OutputFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct OutputFile {
    /// The `--backend` grammar: `spidev`, `spidev:/dev/spidev0.1`, `window:12`, `terminal`…
    backend: Option<String>,
    /// The spidev backend's SPI clock in Hz.
    spi_speed_hz: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    name: Option<String>,
    #[serde(default)]
    host: Option<String>,
    port: Option<u16>,
    password: Option<String>,
    multiple_registrations: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DisplayFile {
    cascaded: Option<u32>,
    modules: Option<String>,
    block_orientation: Option<i32>,
    preset: Option<String>,
    digits_are_rows: bool,
    columns_reversed: bool,
    rows_reversed: bool,
    reverse_order: bool,
    chain_order: Option<String>,
    rotate: Option<u32>,
    intensity: Option<u8>,
    flip_x: bool,
    invert: bool,
    font: Option<String>,
    refresh_every: Option<ConfigDuration>,
    blank_on_exit: bool,
    max_current_ma: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModeFile {
    #[default]
    Continuous,
    Stop,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ScrollFile {
    mode: ModeFile,
    speed: Option<f64>,
    delay: Option<ConfigDuration>,
    dwell: Option<ConfigDuration>,
    gap: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct BlinkFile {
    on: Option<ConfigDuration>,
    off: Option<ConfigDuration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PageKind {
    /// A template's text.
    #[default]
    Text,
    /// A busy-lamp field.
    Blf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageFile {
    #[serde(default)]
    kind: PageKind,
    template: Option<Template>,
    extensions: Option<Vec<String>>,
    server: Option<String>,
    style: Option<CueStyle>,
}

impl PageFile {
    /// What the page shows, checked for a display of `width`×`height`; `n` numbers the page
    /// in messages.
    fn content(&self, n: usize, width: u32, height: u32) -> Result<PageContent, ConfigError> {
        let err = |m: String| ConfigError(format!("page {n}: {m}"));
        match self.kind {
            PageKind::Text => {
                if self.extensions.is_some() {
                    return Err(err("extensions: only a kind = \"blf\" page has them".into()));
                }
                let template = self.template.clone().ok_or_else(|| err("template is missing".into()))?;
                Ok(PageContent::Text(template))
            }
            PageKind::Blf => {
                if self.template.is_some() {
                    return Err(err("template: a kind = \"blf\" page shows lamps, not text".into()));
                }
                if self.style.is_some() {
                    return Err(err("style: a kind = \"blf\" page has no text to style".into()));
                }
                let items = self
                    .extensions
                    .as_deref()
                    .ok_or_else(|| err("extensions is missing (e.g. extensions = [\"1000-1015\"])".into()))?;
                let list = extensions::expand(items).map_err(|m| err(format!("extensions {m}")))?;
                if choose_layout(&list, width, height).is_none() {
                    return Err(err(format!(
                        "{} extensions do not fit the {width}x{height} display (one LED each: at most {})",
                        list.len(),
                        dot_capacity(width, height)
                    )));
                }
                Ok(PageContent::Lamps(list.into()))
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct AlertsFile {
    max_queued: Option<usize>,
    incoming: RuleFile,
    answered: RuleFile,
    hung_up: RuleFile,
    gateway_down: RuleFile,
    gateway_up: RuleFile,
    message: RuleFile,
    link_down: RuleFile,
    link_up: RuleFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RuleFile {
    enabled: Option<bool>,
    priority: Option<Priority>,
    duration: Option<ConfigDuration>,
    scroll: Option<ScrollPolicy>,
    align: Option<Align>,
    invert: Option<bool>,
    blink: Option<bool>,
    frame: Option<bool>,
}

impl RuleFile {
    /// This table laid over the built-in rule: only the keys given change.
    fn over(&self, base: Option<AlertRule>, key: &str) -> Result<Option<AlertRule>, ConfigError> {
        let enabled = self.enabled.unwrap_or(base.is_some());
        if !enabled {
            return Ok(None);
        }
        let base = base.unwrap_or(AlertRule {
            priority: Priority::Normal,
            duration: Duration::from_secs(5),
            style: CueStyle::default(),
        });
        let duration = self.duration.map_or(base.duration, |d| d.0);
        if duration.is_zero() {
            return Err(ConfigError(format!(
                "alerts.{key}.duration: must be longer than zero (use enabled = false to turn it off)"
            )));
        }
        Ok(Some(AlertRule {
            priority: self.priority.unwrap_or(base.priority),
            duration,
            style: CueStyle {
                scroll: self.scroll.unwrap_or(base.style.scroll),
                align: self.align.unwrap_or(base.style.align),
                invert: self.invert.unwrap_or(base.style.invert),
                blink: self.blink.unwrap_or(base.style.blink),
                frame: self.frame.unwrap_or(base.style.frame),
            },
        }))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LinkFile {
    heartbeat: Option<ConfigDuration>,
    backoff_min: Option<ConfigDuration>,
    backoff_max: Option<ConfigDuration>,
    auth_retry: Option<ConfigDuration>,
    connect_timeout: Option<ConfigDuration>,
    command_timeout: Option<ConfigDuration>,
    reconcile: Option<ConfigDuration>,
}

fn positive(key: &str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        return Err(ConfigError(format!("{key}: must be longer than zero")));
    }
    Ok(d)
}

impl DisplayFile {
    /// The same options as the command line's display flags.
    fn spec(&self) -> DisplaySpec {
        DisplaySpec {
            cascaded: self.cascaded,
            modules: self.modules.clone(),
            block_orientation: self.block_orientation,
            preset: self.preset.clone(),
            digits_are_rows: self.digits_are_rows,
            columns_reversed: self.columns_reversed,
            rows_reversed: self.rows_reversed,
            reverse_order: self.reverse_order,
            chain_order: self.chain_order.clone(),
            rotate: self.rotate,
            intensity: self.intensity,
            flip_x: self.flip_x,
            invert: self.invert,
            font: self.font.clone(),
            refresh_every: self.refresh_every.map(|d| d.0),
            blank_on_exit: self.blank_on_exit,
            max_current_ma: self.max_current_ma,
        }
    }
}

impl FileConfig {
    fn check(self, password_env: Option<&str>, cli: &DisplaySpec) -> Result<Config, ConfigError> {
        let mut servers = Vec::new();
        for (i, s) in self.server.iter().enumerate() {
            let host = s.host.clone().unwrap_or_else(|| LOCAL_HOST.into());
            if host.trim().is_empty() {
                return Err(ConfigError(format!("server {}: host is empty", i + 1)));
            }
            let name = s.name.clone().unwrap_or_else(|| host.clone());
            if servers.iter().any(|o: &ServerConfig| o.name == name) {
                return Err(ConfigError(format!("server {}: name {name:?} is used twice", i + 1)));
            }
            let port = s.port.unwrap_or(DEFAULT_PORT);
            if port == 0 {
                return Err(ConfigError(format!("server {}: port 0 is not a port", i + 1)));
            }
            let password =
                s.password.clone().or(password_env.map(str::to_owned)).unwrap_or(DEFAULT_PASSWORD.into());
            let multiple_registrations = s.multiple_registrations.unwrap_or(false);
            servers.push(ServerConfig { name, host, port, password, multiple_registrations });
        }
        if servers.is_empty() {
            servers.push(ServerConfig {
                name: "local".into(),
                host: LOCAL_HOST.into(),
                port: DEFAULT_PORT,
                password: password_env.unwrap_or(DEFAULT_PASSWORD).to_owned(),
                multiple_registrations: false,
            });
        }
        for s in &servers {
            // ESL ends a command at a line break: such a password would be sent as two
            // commands and refused forever, so it is refused here, without echoing it.
            if s.password.contains(['\n', '\r']) {
                return Err(ConfigError(format!(
                    "server {}: the password has a line break (check the config's password or \
                     {PASSWORD_ENV}, e.g. a secrets file with Windows line ends)",
                    s.name
                )));
            }
        }

        let d = &self.display;
        let file_spec = d.spec();
        if let Some(conflict) = file_spec.conflict() {
            return Err(ConfigError(format!("[display]: {conflict}")));
        }
        // The file's own values are checked first, so that a bad key is named as a key even
        // when a command-line flag would replace it.
        file_spec.wiring()?;
        file_spec.intensity()?;
        file_spec.font()?;
        file_spec.refresh_every()?;
        file_spec.power_budget()?;
        let spec = cli.over(&file_spec);
        let flag = |e: DisplaySpecError| ConfigError(e.flag_message());
        let wiring = spec.wiring().map_err(flag)?;
        let intensity = spec.intensity().map_err(flag)?;
        let defaults = PlayerOptions::default();
        let font = spec.font().map_err(flag)?.unwrap_or(defaults.font);
        let refresh_every = spec.refresh_every().map_err(flag)?;
        let power = spec.power_budget().map_err(flag)?;

        let s = &self.scroll;
        let speed = match s.speed {
            Some(v) => Speed::new(v).map_err(|e| ConfigError(format!("scroll.speed {e}")))?,
            None => defaults.speed,
        };
        let mode = match s.mode {
            ModeFile::Continuous => {
                if s.dwell.is_some() {
                    return Err(ConfigError(
                        "scroll.dwell: only means something with mode = \"stop\"".into(),
                    ));
                }
                ScrollMode::Continuous { gap: s.gap.unwrap_or(DEFAULT_GAP) }
            }
            ModeFile::Stop => {
                if s.gap.is_some() {
                    return Err(ConfigError(
                        "scroll.gap: only means something with mode = \"continuous\"".into(),
                    ));
                }
                ScrollMode::Stop { dwell: s.dwell.map_or(DEFAULT_DWELL, |d| d.0) }
            }
        };
        let blink = Blink {
            on: positive("blink.on", self.blink.on.map_or(defaults.blink.on, |d| d.0))?,
            off: self.blink.off.map_or(defaults.blink.off, |d| d.0),
        };
        let player = PlayerOptions {
            font,
            speed,
            mode,
            delay: s.delay.map_or(defaults.delay, |d| d.0),
            invert: spec.invert,
            blink,
            refresh_every,
            blank_on_exit: spec.blank_on_exit,
            ..defaults
        };

        let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
        let (width, height) = wiring.logical_size();
        let mut pages = Vec::new();
        for (i, p) in self.page.into_iter().enumerate() {
            let content = p.content(i + 1, width, height)?;
            if let Some(server) = &p.server {
                // The sum is the only view when servers are summed.
                let known = match self.servers_shown {
                    Combine::Sum => server == SUM_NAME,
                    Combine::Each => names.contains(&server.as_str()),
                };
                if !known {
                    let expected = match self.servers_shown {
                        Combine::Sum => format!("with servers_shown = \"sum\" the only view is {SUM_NAME:?}"),
                        Combine::Each => format!("configured: {}", names.join(", ")),
                    };
                    return Err(ConfigError(format!(
                        "page {}: server {server:?} is not known ({expected})",
                        i + 1
                    )));
                }
            }
            pages.push(Page { content, style: p.style.unwrap_or_default(), server: p.server });
        }
        // Showing each server: a page not tied to one server repeats for every server.
        if self.servers_shown == Combine::Each && servers.len() > 1 {
            let (tied, mut free): (Vec<Page>, Vec<Page>) =
                pages.into_iter().partition(|p| p.server.is_some());
            if free.is_empty() && tied.is_empty() {
                free = default_page();
            }
            pages = free
                .iter()
                .flat_map(|page| names.iter().map(|n| Page { server: Some((*n).to_owned()), ..page.clone() }))
                .chain(tied)
                .collect();
        }

        let a = &self.alerts;
        let base = AlertRules::default();
        let alerts = AlertRules {
            incoming: a.incoming.over(base.incoming, "incoming")?,
            answered: a.answered.over(base.answered, "answered")?,
            hung_up: a.hung_up.over(base.hung_up, "hung_up")?,
            gateway_down: a.gateway_down.over(base.gateway_down, "gateway_down")?,
            gateway_up: a.gateway_up.over(base.gateway_up, "gateway_up")?,
            message: a.message.over(base.message, "message")?,
            link_down: a.link_down.over(base.link_down, "link_down")?,
            link_up: a.link_up.over(base.link_up, "link_up")?,
        };
        let mut lines: Vec<String> = pages
            .iter()
            .filter_map(|p| match &p.content {
                PageContent::Lamps(list) => Some(list.iter().cloned()),
                PageContent::Text(_) => None,
            })
            .flatten()
            .collect();
        lines.sort();
        lines.dedup();
        if lines.len() > MAX_LINES {
            return Err(ConfigError(format!(
                "the blf pages show {} extensions in all, at most {MAX_LINES}",
                lines.len()
            )));
        }
        let mut scene = SceneConfig { pages, alerts, ..SceneConfig::default() };
        if let Some(t) = self.page_time {
            scene.page_time = positive("page_time", t.0)?;
        }
        if let Some(n) = a.max_queued {
            scene.max_queued = n;
        }

        let l = &self.link;
        let mut link = LinkOptions { lines, ..LinkOptions::default() };
        for (key, value, slot) in [
            ("link.heartbeat", l.heartbeat, &mut link.heartbeat),
            ("link.backoff_min", l.backoff_min, &mut link.backoff_min),
            ("link.backoff_max", l.backoff_max, &mut link.backoff_max),
            ("link.auth_retry", l.auth_retry, &mut link.auth_retry),
            ("link.connect_timeout", l.connect_timeout, &mut link.connect_timeout),
            ("link.command_timeout", l.command_timeout, &mut link.command_timeout),
            ("link.reconcile", l.reconcile, &mut link.reconcile),
        ] {
            if let Some(v) = value {
                *slot = positive(key, v.0)?;
            }
        }
        if link.backoff_min > link.backoff_max {
            return Err(ConfigError("link.backoff_min: longer than link.backoff_max".into()));
        }

        let backend = match &self.output.backend {
            Some(b) => {
                Some(b.parse::<BackendSpec>().map_err(|e| ConfigError(format!("output.backend: {e}")))?)
            }
            None => None,
        };

        let daemon = DaemonSettings { servers, combine: self.servers_shown, player, scene, link };
        let spi_speed = match self.output.spi_speed_hz {
            Some(hz) => SpiSpeed::new(hz).map_err(|e| ConfigError(format!("output.spi_speed_hz {e}")))?,
            None => SpiSpeed::DEFAULT,
        };
        Ok(Config { daemon, wiring, intensity, backend, spi_speed, power })
    }
}

/// The page a scene shows when the config has none, as a list to chain.
fn default_page() -> Vec<Page> {
    Template::parse(crate::scene::DEFAULT_TEMPLATE).map(Page::new).into_iter().collect()
}

#[cfg(test)]
mod tests;
