//! The `api` commands that rebuild a server's state, and what their answers hold.
//!
//! The link sends [`RefreshCommand`]s and hands each answer back with the command that
//! produced it, so the model never parses command text: adding a command is one variant
//! here, its wire text and its parser side by side.

use std::fmt;
use std::time::Duration;

use super::api::{
    self, ChannelRow, ParseError, RegistrationList, SofiaProfile, SofiaStatus, StatusInfo, VersionInfo,
};

/// One `api` command the model can read the answer of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshCommand {
    /// `status`.
    Status,
    /// `show calls count`.
    CallsCount,
    /// `show channels count`.
    ChannelsCount,
    /// `show channels as json`: the exact channel set.
    ChannelsJson,
    /// `show registrations count`.
    RegistrationsCount,
    /// `show registrations` (the CSV listing).
    Registrations,
    /// `show registrations as json`.
    RegistrationsJson,
    /// `sofia status`.
    SofiaStatus,
    /// `sofia status profile <name>`.
    SofiaProfile(String),
    /// `version`.
    Version,
    /// `uptime` (seconds).
    Uptime,
    /// `hostname`.
    Hostname,
}

impl RefreshCommand {
    /// The command as sent after `api `.
    pub fn text(&self) -> String {
        self.to_string()
    }

    /// The counts, asked first: their answers are a line each, whatever the PBX's size, and
    /// they say whether the listings would fit in one ESL message.
    pub const COUNTS: [RefreshCommand; 3] =
        [RefreshCommand::ChannelsCount, RefreshCommand::CallsCount, RefreshCommand::RegistrationsCount];

    /// The listings worth asking for after `counts` came back: only those whose answer stays
    /// well inside the ESL client's 8 MiB message limit ([`MAX_LISTED_CHANNELS`],
    /// [`MAX_LISTED_REGISTRATIONS`]). An answer over the limit would cost the session, every
    /// time; without a listing the figure comes from its count, and a figure only a listing
    /// can give (WebRTC bindings: FreeSWITCH has no filtered count for them) is unknown.
    pub fn listings_within_limits(counts: &RefreshResult) -> Vec<RefreshCommand> {
        let mut out = Vec::new();
        if counts.channels.is_some_and(|n| n <= MAX_LISTED_CHANNELS) {
            out.push(RefreshCommand::ChannelsJson);
        }
        if counts.registration_count.is_some_and(|n| n <= MAX_LISTED_REGISTRATIONS) {
            out.push(RefreshCommand::RegistrationsJson);
        }
        out
    }
}

/// Most channels asked for as a listing: a `show channels as json` row is about 0.9 KB
/// (1.5 KB with long names and variables), so 4 096 of them stay under 6 MiB of the client's
/// 8 MiB limit, with room for calls that start between the count and the listing.
pub const MAX_LISTED_CHANNELS: u64 = 4_096;
/// Most registrations asked for as a listing: a `show registrations as json` row is about
/// 320 bytes (500 with long contacts), so 10 000 stay under 5 MiB.
pub const MAX_LISTED_REGISTRATIONS: u64 = 10_000;

impl fmt::Display for RefreshCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status => f.write_str("status"),
            Self::CallsCount => f.write_str("show calls count"),
            Self::ChannelsCount => f.write_str("show channels count"),
            Self::ChannelsJson => f.write_str("show channels as json"),
            Self::RegistrationsCount => f.write_str("show registrations count"),
            Self::Registrations => f.write_str("show registrations"),
            Self::RegistrationsJson => f.write_str("show registrations as json"),
            Self::SofiaStatus => f.write_str("sofia status"),
            Self::SofiaProfile(name) => write!(f, "sofia status profile {name}"),
            Self::Version => f.write_str("version"),
            Self::Uptime => f.write_str("uptime"),
            Self::Hostname => f.write_str("hostname"),
        }
    }
}

/// The `api` results gathered after a (re)connect. Every field is optional: the daemon may run
/// any subset, and what is missing simply stays as it was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshResult {
    /// `status`.
    pub status: Option<StatusInfo>,
    /// `show calls count`.
    pub calls: Option<u64>,
    /// `show channels count`.
    pub channels: Option<u64>,
    /// `show channels as json`: lets the refresh rebuild the exact channel set.
    pub channel_list: Option<Vec<ChannelRow>>,
    /// `show registrations` or `show registrations as json`.
    pub registrations: Option<RegistrationList>,
    /// `show registrations count`.
    pub registration_count: Option<u64>,
    /// `sofia status profile <name>` for each profile asked about.
    pub profiles: Vec<SofiaProfile>,
    /// `sofia status`.
    pub sofia: Option<SofiaStatus>,
    /// `version`.
    pub version: Option<VersionInfo>,
    /// `uptime`.
    pub uptime: Option<Duration>,
    /// `hostname`.
    pub hostname: Option<String>,
}

impl RefreshResult {
    /// Parses the answer to `command` into the matching field.
    pub fn record(&mut self, command: &RefreshCommand, body: &str) -> Result<(), ParseError> {
        match command {
            RefreshCommand::Status => self.status = Some(api::parse_status(body)?),
            RefreshCommand::CallsCount => self.calls = Some(api::parse_count(body)?),
            RefreshCommand::ChannelsCount => self.channels = Some(api::parse_count(body)?),
            RefreshCommand::ChannelsJson => self.channel_list = Some(api::parse_channels_json(body)?),
            RefreshCommand::RegistrationsCount => self.registration_count = Some(api::parse_count(body)?),
            RefreshCommand::Registrations => self.registrations = Some(api::parse_registrations_csv(body)?),
            RefreshCommand::RegistrationsJson => {
                self.registrations = Some(api::parse_registrations_json(body)?);
            }
            RefreshCommand::SofiaStatus => self.sofia = Some(api::parse_sofia_status(body)?),
            RefreshCommand::SofiaProfile(_) => self.profiles.push(api::parse_sofia_profile(body)?),
            RefreshCommand::Version => self.version = Some(api::parse_version(body)?),
            RefreshCommand::Uptime => self.uptime = Some(api::parse_uptime(body)?),
            RefreshCommand::Hostname => {
                let h = body.trim();
                if h.is_empty() || h.starts_with("-ERR") {
                    return Err(ParseError::Unexpected {
                        what: "hostname",
                        text: h.chars().take(80).collect(),
                    });
                }
                self.hostname = Some(h.to_owned());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eslmatrix_sim::fs::pbx::{ApiOutput, Pbx, Transport};

    /// Every command's text is one the mock FreeSWITCH knows, and its answer parses.
    #[tokio::test(start_paused = true)]
    async fn every_command_is_answered_and_read() {
        let pbx = Pbx::new(Default::default());
        pbx.register("1000", Transport::Udp, "phone").expect("register");
        let all = [
            RefreshCommand::Status,
            RefreshCommand::CallsCount,
            RefreshCommand::ChannelsCount,
            RefreshCommand::ChannelsJson,
            RefreshCommand::RegistrationsCount,
            RefreshCommand::Registrations,
            RefreshCommand::RegistrationsJson,
            RefreshCommand::SofiaStatus,
            RefreshCommand::SofiaProfile("internal".into()),
            RefreshCommand::Version,
            RefreshCommand::Uptime,
        ];
        let mut r = RefreshResult::default();
        for command in &all {
            let text = command.text();
            let (name, args) = text.split_once(' ').unwrap_or((&text, ""));
            let ApiOutput::Text(body) = pbx.api(name, args) else { panic!("{text}: not found") };
            r.record(command, &body).unwrap_or_else(|e| panic!("{text}: {e}\n{body}"));
        }
        assert_eq!(r.registration_count, Some(1));
        assert_eq!(r.registrations.map(|l| l.rows.len()), Some(1));
        assert_eq!(r.profiles.len(), 1);
        assert!(r.uptime.is_some() && r.version.is_some() && r.status.is_some());
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    #[test]
    fn listings_are_asked_for_only_when_their_answer_fits() {
        let counts = |channels, registrations| RefreshResult {
            channels: Some(channels),
            registration_count: Some(registrations),
            ..RefreshResult::default()
        };
        assert_eq!(
            RefreshCommand::listings_within_limits(&counts(12, 300)),
            [RefreshCommand::ChannelsJson, RefreshCommand::RegistrationsJson]
        );
        assert_eq!(
            RefreshCommand::listings_within_limits(&counts(10_000, 100_000)),
            Vec::<RefreshCommand>::new(),
            "a big PBX is rebuilt from counts"
        );
        assert_eq!(
            RefreshCommand::listings_within_limits(&counts(
                MAX_LISTED_CHANNELS,
                MAX_LISTED_REGISTRATIONS + 1
            )),
            [RefreshCommand::ChannelsJson]
        );
        // A count that failed says nothing about the listing's size: do not risk it.
        assert!(RefreshCommand::listings_within_limits(&RefreshResult::default()).is_empty());
    }
}
