//! `POST /RPC2`: the XML-RPC methods mod_xml_rpc registers (`freeswitch.api` and its alias
//! `freeswitch_api`, mod_xml_rpc.c `freeswitch_api`), answered as xmlrpc-c serializes
//! (libs/xmlrpc-c/src/xmlrpc_serialize.c: CRLF line ends, `&`, `<`, `>` and CR escaped).

/// A request body larger than this is refused (xmlrpc-c bounds its XML too).
pub const MAX_CALL: usize = 64 * 1024;

/// What a method call asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Call {
    /// `freeswitch.api(command, arg)`.
    Api { command: String, arg: String },
    /// Anything else: an XML-RPC fault.
    Fault { code: i32, text: String },
}

/// Parses a `<methodCall>`; string parameters may be typed `<string>` or bare `<value>`.
pub fn parse(body: &[u8]) -> Call {
    let text = String::from_utf8_lossy(body);
    let fault = |code, text: String| Call::Fault { code, text };
    let Ok(doc) = roxmltree::Document::parse(&text) else {
        return fault(-503, "Call XML not a proper XML-RPC call.".into());
    };
    let root = doc.root_element();
    let name = root
        .children()
        .find(|n| n.has_tag_name("methodName"))
        .and_then(|n| n.text())
        .unwrap_or("")
        .trim()
        .to_string();
    let params: Vec<String> = root
        .children()
        .filter(|n| n.has_tag_name("params"))
        .flat_map(|p| p.children().filter(|n| n.has_tag_name("param")))
        .filter_map(|p| p.children().find(|n| n.has_tag_name("value")))
        .map(|v| match v.children().find(roxmltree::Node::is_element) {
            Some(typed) if typed.has_tag_name("string") => typed.text().unwrap_or("").to_string(),
            Some(other) => format!("\u{0}{}", other.tag_name().name()),
            None => v.text().unwrap_or("").to_string(),
        })
        .collect();
    if name != "freeswitch.api" && name != "freeswitch_api" {
        return fault(-506, format!("Method '{name}' not defined"));
    }
    // xmlrpc_decompose_value(…, "(ss)", …): exactly two strings.
    match params.as_slice() {
        [command, arg] if !command.starts_with('\u{0}') && !arg.starts_with('\u{0}') => {
            Call::Api { command: command.clone(), arg: arg.clone() }
        }
        _ => fault(-501, "Expected an array of 2 strings".into()),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => out.push_str("&#x0d;"),
            c => out.push(c),
        }
    }
    out
}

const PROLOGUE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n";

/// `xmlrpc_serialize_response` of one string.
pub fn response(value: &str) -> String {
    format!(
        "{PROLOGUE}<methodResponse>\r\n<params>\r\n<param><value><string>{}</string></value></param>\r\n</params>\r\n</methodResponse>\r\n",
        escape(value)
    )
}

/// `xmlrpc_serialize_fault`.
pub fn fault(code: i32, text: &str) -> String {
    format!(
        "{PROLOGUE}<methodResponse>\r\n<fault>\r\n<value><struct>\r\n<member><name>faultCode</name>\r\n<value><i4>{code}</i4></value></member>\r\n<member><name>faultString</name>\r\n<value><string>{}</string></value></member>\r\n</struct></value>\r\n</fault>\r\n</methodResponse>\r\n",
        escape(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_freeswitch_api_calls() {
        let call = br#"<?xml version='1.0'?><methodCall><methodName>freeswitch.api</methodName>
            <params><param><value><string>show</string></value></param><param><value>calls</value></param></params></methodCall>"#;
        assert_eq!(parse(call), Call::Api { command: "show".into(), arg: "calls".into() });
        let one = b"<methodCall><methodName>freeswitch_api</methodName><params><param><value>x</value></param></params></methodCall>";
        assert!(matches!(parse(one), Call::Fault { code: -501, .. }));
        let other = b"<methodCall><methodName>system.listMethods</methodName></methodCall>";
        assert!(matches!(parse(other), Call::Fault { code: -506, .. }));
        assert!(matches!(parse(b"not xml"), Call::Fault { code: -503, .. }));
        assert!(response("a<b&c\r\n").contains("<string>a&lt;b&amp;c&#x0d;\n</string>"));
    }
}
