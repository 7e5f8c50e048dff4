use super::*;
use crate::driver::wiring::{ChainOrder, Rotation};
use crate::driver::DisplaySpec;

fn err(text: &str) -> String {
    Config::parse(text, None).unwrap_err().0
}

#[test]
fn the_documented_example_loads() {
    let text = include_str!("../../fixtures/config/eslmatrix.toml");
    let c = Config::parse(text, None).unwrap();
    assert_eq!(c.daemon.servers.len(), 1);
    assert!(!c.daemon.scene.pages.is_empty());
}

#[test]
fn an_empty_file_is_one_local_server_and_the_default_display() {
    let c = Config::parse("", None).unwrap();
    assert_eq!(c.daemon.servers.len(), 1);
    assert_eq!((c.daemon.servers[0].host.as_str(), c.daemon.servers[0].port), ("127.0.0.1", 8021));
    assert_eq!(c.daemon.servers[0].password, "ClueCon");
    assert_eq!(c.wiring.chips(), 4);
    assert_eq!(c.intensity.get(), 7);
    assert_eq!(c.daemon.player.mode, ScrollMode::Continuous { gap: 8 });
}

#[test]
fn the_password_comes_from_the_file_then_the_environment() {
    let c =
        Config::parse("[[server]]\nhost = \"a\"\n[[server]]\nhost = \"b\"\npassword = \"x\"\n", Some("env"))
            .unwrap();
    assert_eq!(c.daemon.servers[0].password, "env");
    assert_eq!(c.daemon.servers[1].password, "x");
    // Never in debug output (which is what logs print).
    assert!(!format!("{:?}", c.daemon.servers[1]).contains("\"x\""));
    assert!(!format!("{c:?}").contains("\"env\""));
}

#[test]
fn unknown_keys_are_named_with_their_table_and_line() {
    let e = err("[display]\ncascaded = 4\nintensty = 3\n");
    assert!(e.starts_with("line 3 in [display]: unknown field `intensty`"), "{e}");
    let e = err("[[server]]\nhots = \"x\"\n");
    assert!(e.contains("unknown field `hots`") && e.contains("[[server]]"), "{e}");
    let e = err("[alerts.incoming]\nprio = \"high\"\n");
    assert!(e.contains("unknown field `prio`"), "{e}");
    let e = err("[[page]]\ntemplate = \"x\"\nstyle = { invert = true, colour = \"red\" }\n");
    assert!(e.contains("unknown field `colour`"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
}

#[test]
fn bad_values_name_the_key() {
    assert!(
        err("[display]\nintensity = 20\n").starts_with("display.intensity 20"),
        "{}",
        err("[display]\nintensity = 20\n")
    );
    assert!(err("[display]\nrotate = 5\n").starts_with("display.rotate 5"));
    assert!(err("[display]\nmodules = \"4\"\n").starts_with("display.modules"));
    assert!(err("[display]\nfont = \"comic\"\n").starts_with("display.font"));
    assert!(err("[display]\nrefresh_every = \"0s\"\n").starts_with("display.refresh_every"));
    assert!(err("[display]\nrefresh_every = \"60\"\n").contains("needs a unit"));
    assert!(err("[scroll]\nspeed = 0\n").starts_with("scroll.speed"));
    assert!(err("[scroll]\ndwell = \"1s\"\n").starts_with("scroll.dwell"));
    assert!(err("[[page]]\ntemplate = \"{cals}\"\n").contains("unknown template field {cals}"));
    assert!(err("[[page]]\ntemplate = \"x\"\nserver = \"nope\"\n").starts_with("page 1: server \"nope\""));
    assert!(err("[alerts.incoming]\nduration = \"0s\"\n").starts_with("alerts.incoming.duration"));
    assert!(err("[link]\nbackoff_min = \"1m\"\nbackoff_max = \"1s\"\n").starts_with("link.backoff_min"));
    assert!(err("[display]\npreset = \"fc16\"\nblock_orientation = 90\n").contains("give one of"));
    assert!(err("[[server]]\nname = \"a\"\n[[server]]\nname = \"a\"\n").contains("used twice"));
    assert!(err("servers_shown = \"both\"\n").contains("unknown variant `both`"));
}

#[test]
fn display_keys_match_the_cli_flags_and_flags_win() {
    let text = "[display]\nmodules = \"4x2\"\nchain_order = \"serpentine\"\npreset = \"fc16\"\nrotate = 2\nintensity = 3\n";
    let c = Config::parse(text, None).unwrap();
    assert_eq!((c.wiring.modules_x, c.wiring.modules_y), (4, 2));
    assert_eq!(c.wiring.chain, ChainOrder::Serpentine);
    assert_eq!(c.wiring.rotation, Rotation::R180);
    assert!(c.wiring.module.digits_are_rows && c.wiring.module.columns_reversed);
    assert_eq!(c.intensity.get(), 3);
    let cli = DisplaySpec {
        cascaded: Some(8),
        block_orientation: Some(0),
        rotate: Some(0),
        ..DisplaySpec::default()
    };
    let c = Config::parse_with_overrides(text, None, &cli).unwrap();
    assert_eq!((c.wiring.modules_x, c.wiring.modules_y), (8, 1));
    assert!(!c.wiring.module.digits_are_rows);
    assert_eq!(c.wiring.rotation, Rotation::R0);
    assert_eq!(c.intensity.get(), 3);
}

#[test]
fn esphome_options_have_equivalents() {
    let text = r#"
        [display]
        reverse_order = true      # reverse_enable
        flip_x = true             # flip_x
        block_orientation = 90    # rotate_chip
        modules = "4x2"           # num_chip_lines = 2
        chain_order = "row-major" # chip_lines_style = zigzag
        invert = true
        [scroll]
        mode = "stop"
        speed = 4                 # scroll_speed = 250ms
        delay = "1500ms"
        dwell = "1s"
    "#;
    let e = Config::parse(text, None).unwrap_err().0;
    assert!(e.contains("reverse_order or chain_order"), "{e}");
    let c = Config::parse(&text.replace("chain_order = \"row-major\" # chip_lines_style = zigzag", ""), None)
        .unwrap();
    assert_eq!(c.wiring.chain, ChainOrder::Reversed);
    // FC-16 has columns reversed; flip_x mirrors them back.
    assert!(c.wiring.module.digits_are_rows && !c.wiring.module.columns_reversed);
    assert!(c.daemon.player.invert);
    assert_eq!(c.daemon.player.mode, ScrollMode::Stop { dwell: Duration::from_secs(1) });
    assert_eq!(c.daemon.player.speed.get(), 4.0);
    assert_eq!(c.daemon.player.delay, Duration::from_millis(1500));
}

#[test]
fn several_servers_each_or_summed() {
    let two = "[[server]]\nname = \"a\"\n[[server]]\nname = \"b\"\n[[page]]\ntemplate = \"{calls}\"\n";
    let c = Config::parse(two, None).unwrap();
    let servers: Vec<_> = c.daemon.scene.pages.iter().map(|p| p.server.clone()).collect();
    assert_eq!(servers, [Some("a".into()), Some("b".into())]);
    let c = Config::parse(&format!("servers_shown = \"sum\"\n{two}"), None).unwrap();
    assert_eq!(c.daemon.combine, Combine::Sum);
    assert_eq!(c.daemon.scene.pages.len(), 1);
    assert!(
        err(&format!("servers_shown = \"sum\"\n{two}server = \"a\"\n")).contains("the only view is \"all\"")
    );
}

#[test]
fn alert_tables_change_only_what_they_name() {
    let c =
        Config::parse("[alerts.answered]\nenabled = false\n[alerts.incoming]\nduration = \"20s\"\n", None)
            .unwrap();
    assert_eq!(c.daemon.scene.alerts.answered, None);
    let incoming = c.daemon.scene.alerts.incoming.unwrap();
    assert_eq!(incoming.duration, Duration::from_secs(20));
    assert_eq!(incoming.priority, Priority::High);
    assert!(incoming.style.frame && !incoming.style.invert, "the built-in look stays");
    let c = Config::parse("[alerts.incoming]\nframe = false\ninvert = true\n", None).unwrap();
    let style = c.daemon.scene.alerts.incoming.unwrap().style;
    assert!(style.invert && !style.frame, "the old inverse look, asked for");
}

#[test]
fn the_output_table_names_the_backend() {
    let c = Config::parse("[output]\nbackend = \"spidev\"\n", None).unwrap();
    assert_eq!(c.backend, Some(BackendSpec::Spidev("/dev/spidev0.0".into())));
    let c = Config::parse("[output]\nbackend = \"window:12\"\n", None).unwrap();
    assert_eq!(c.backend, Some(BackendSpec::Window { pitch: 12 }));
    assert_eq!(Config::parse("", None).unwrap().backend, None);
    let e = Config::parse("[output]\nbackend = \"lcd\"\n", None).unwrap_err().to_string();
    assert!(e.starts_with("output.backend: unknown backend \"lcd\""), "{e}");
    let e = Config::parse("[output]\nbakend = \"spidev\"\n", None).unwrap_err().to_string();
    assert!(e.contains("[output]") && e.contains("unknown field `bakend`"), "{e}");
}

#[test]
fn a_password_with_a_line_break_is_refused_without_being_echoed() {
    let e = Config::parse("[[server]]\npassword = \"Clue\\nCon\"\n", None).unwrap_err().to_string();
    assert!(e.contains("the password has a line break") && !e.contains("Clue"), "{e}");
    let e = Config::parse("", Some("hunter2\r\n")).unwrap_err().to_string();
    assert!(e.contains("line break") && !e.contains("hunter2"), "{e}");
}

#[test]
fn a_password_of_the_wrong_type_is_not_echoed() {
    let e = err("[[server]]\nhost = \"pbx\"\npassword = 987654321\n");
    assert!(e.starts_with("line 3 in [[server]]: password: expected a string"), "{e}");
    assert!(!e.contains("987654321"), "{e}");
}

#[test]
fn control_characters_in_errors_are_escaped() {
    let e = err("[display]\nfont = \"\u{1b}[31mred\"\n");
    assert!(!e.contains('\u{1b}') && !e.contains('\n'), "{e:?}");
}

#[test]
fn durations_need_a_unit_and_stay_within_a_year() {
    let ms = Duration::from_millis;
    for (text, want) in [("500ms", ms(500)), ("1.5s", ms(1500)), ("2m", ms(120_000)), (" 1h ", ms(3_600_000))]
    {
        assert_eq!(parse_duration(text), Ok(want), "{text}");
    }
    assert!(parse_duration("60").unwrap_err().contains("needs a unit"));
    assert!(parse_duration("5 fortnights").unwrap_err().contains("unit"));
    assert!(parse_duration("-1s").unwrap_err().contains("invalid duration"));
    assert!(parse_duration("366d").unwrap_err().contains("out of range"));
    assert!(parse_duration("1e9h").is_err());
    assert!(parse_duration("").is_err());
    assert!(!err("[display]\nrefresh_every = 60\n").contains('\n'), "a number, not text, is one line too");
}

#[test]
fn a_blf_page_lists_its_extensions_and_the_links_follow_them() {
    let text = "[display]\nmodules = \"4x1\"\n\
                [[page]]\ntemplate = \"{calls} calls\"\n\
                [[page]]\nkind = \"blf\"\nextensions = [\"1000-1003\", \"2000\"]\n\
                [[page]]\nkind = \"blf\"\nextensions = [\"2000\", \"1000\"]\n";
    let c = Config::parse(text, None).unwrap();
    let pages = &c.daemon.scene.pages;
    assert_eq!(pages.len(), 3);
    match &pages[1].content {
        PageContent::Lamps(list) => assert_eq!(&list[..], ["1000", "1001", "1002", "1003", "2000"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.daemon.link.lines, ["1000", "1001", "1002", "1003", "2000"], "each extension once");
    assert!(Config::parse("", None).unwrap().daemon.link.lines.is_empty(), "no lamps, nothing followed");
}

#[test]
fn a_bad_blf_page_is_one_line_naming_the_page() {
    let blf = |extra: &str| err(&format!("[display]\nmodules = \"4x1\"\n[[page]]\nkind = \"blf\"\n{extra}"));
    assert_eq!(blf(""), "page 1: extensions is missing (e.g. extensions = [\"1000-1015\"])");
    assert!(blf("extensions = []\n").starts_with("page 1: extensions is empty"));
    assert!(blf("extensions = [\"10x-12\"]\n").contains("\"10x-12\" is not an extension or a range"));
    assert!(blf("extensions = [\"12-10\"]\n").contains("runs backwards"));
    assert_eq!(
        blf("extensions = [\"1000-1256\"]\n"),
        "page 1: 257 extensions do not fit the 32x8 display (one LED each: at most 256)"
    );
    assert!(blf("extensions = [\"1\"]\ntemplate = \"x\"\n").contains("shows lamps, not text"));
    assert!(blf("extensions = [\"1\"]\nstyle = { invert = true }\n").contains("no text to style"));
    assert!(err("[[page]]\nkind = \"lamp\"\n").contains("unknown variant `lamp`"));
    assert!(err("[[page]]\nextensions = [\"1\"]\ntemplate = \"x\"\n").contains("only a kind = \"blf\" page"));
    assert_eq!(err("[[page]]\n"), "page 1: template is missing");
    for e in [blf(""), blf("extensions = [\"12-10\"]\n")] {
        assert!(!e.contains('\n'));
    }
}

#[test]
fn the_blf_example_loads() {
    let c = Config::parse(include_str!("../../fixtures/config/blf.toml"), None).unwrap();
    assert!(matches!(&c.daemon.scene.pages[0].content, PageContent::Lamps(l) if l.len() == 8));
    assert!(c.daemon.scene.alerts.incoming.is_none(), "lamps only");
}
