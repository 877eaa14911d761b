//! The 5.0 flags of `pub` and `sub` (`-V`, `-x`, `-D`) as mosquitto_pub and mosquitto_sub read
//! them, and the client options they make.

use super::*;
use crate::protocol::Properties;

fn words(w: &[&str]) -> Vec<String> {
    w.iter().map(|s| (*s).to_owned()).collect()
}

fn parse(tool: Tool, version: Option<&str>, expiry: Option<&str>, d: &[&[&str]]) -> Result<VersionOptions, String> {
    let groups: Vec<Vec<String>> = d.iter().map(|g| words(g)).collect();
    VersionOptions::parse(tool, version, expiry, &groups)
}

#[test]
fn v_names_the_version_as_mosquitto_does() {
    assert_eq!(parse_version("5"), Ok(Version::V5));
    assert_eq!(parse_version("mqttv5"), Ok(Version::V5));
    assert_eq!(parse_version("311"), Ok(Version::V311));
    assert_eq!(parse_version("mqttv311"), Ok(Version::V311));
    assert!(parse_version("31").unwrap_err().contains("not supported"));
    assert!(parse_version("4").unwrap_err().contains("not a protocol version"));
    // No flags: 3.1.1, as before.
    assert_eq!(parse(Tool::Pub, None, None, &[]), Ok(VersionOptions::default()));
}

#[test]
fn x_sets_the_session_expiry_and_needs_5_0() {
    assert_eq!(parse_expiry("60"), Ok(60));
    assert_eq!(parse_expiry("-1"), Ok(u32::MAX), "never expires");
    assert_eq!(parse_expiry("∞"), Ok(u32::MAX));
    assert_eq!(parse_expiry("4294967295"), Ok(u32::MAX));
    assert!(parse_expiry("4294967296").is_err());
    assert!(parse_expiry("soon").is_err());
    let v = parse(Tool::Sub, Some("5"), Some("60"), &[]).unwrap();
    assert_eq!((v.version, v.session_expiry), (Version::V5, Some(60)));
    assert_eq!(
        parse(Tool::Sub, None, Some("60"), &[]),
        Err("-x sets the MQTT 5.0 Session Expiry Interval: add -V 5".into())
    );
    assert!(parse(Tool::Sub, Some("311"), Some("60"), &[]).is_err());
    // The connect property is the same setting; both at once is ambiguous.
    let v = parse(Tool::Pub, Some("5"), None, &[&["connect", "session-expiry-interval", "30"]]).unwrap();
    assert_eq!(v.session_expiry, Some(30));
    assert!(v.properties.connect.is_empty(), "carried as the session expiry, not twice");
    assert!(parse(Tool::Pub, Some("5"), Some("5"), &[&["connect", "session-expiry-interval", "30"]]).is_err());
}

#[test]
fn d_adds_properties_per_packet_and_makes_the_client_5_0() {
    let v = parse(
        Tool::Pub,
        None,
        None,
        &[
            &["publish", "user-property", "k", "v"],
            &["publish", "message-expiry-interval", "30"],
            &["PUBLISH", "content-type", "text/plain"],
            &["publish", "response-topic", "r/t"],
            &["publish", "correlation-data", "abc"],
            &["publish", "payload-format-indicator", "1"],
            &["publish", "topic-alias", "1"],
            &["connect", "receive-maximum", "5"],
            &["connect", "maximum-packet-size", "1000"],
            &["connect", "topic-alias-maximum", "3"],
            &["connect", "user-property", "a", "b"],
            &["disconnect", "session-expiry-interval", "0"],
        ],
    )
    .unwrap();
    assert_eq!(v.version, Version::V5, "-D makes a 5.0 client, as mosquitto_pub's manual says");
    assert_eq!(
        v.properties.publish,
        Properties(vec![
            Property::UserProperty(("k".into(), "v".into())),
            Property::MessageExpiryInterval(30),
            Property::ContentType("text/plain".into()),
            Property::ResponseTopic("r/t".into()),
            Property::CorrelationData(bytes::Bytes::from_static(b"abc")),
            Property::PayloadFormatIndicator(1),
            Property::TopicAlias(1),
        ])
    );
    assert_eq!(v.properties.disconnect, Properties(vec![Property::SessionExpiryInterval(0)]));
    let connect = ConnectOptions { version: v.version, properties: v.properties, ..ConnectOptions::default() };
    let options = connect.client_options();
    assert_eq!(
        (options.receive_maximum, options.maximum_packet_size, options.topic_alias_maximum),
        (Some(5), Some(1000), 3)
    );
    assert_eq!(options.user_properties, vec![("a".to_owned(), "b".to_owned())]);
    let s = parse(Tool::Sub, None, None, &[&["subscribe", "subscription-identifier", "5"]]).unwrap();
    assert_eq!(s.properties.subscribe, Properties(vec![Property::SubscriptionIdentifier(5)]));
}

#[test]
fn d_refuses_what_the_packet_or_the_version_cannot_carry() {
    let err = |tool, version, d: &[&str]| parse(tool, version, None, &[d]).unwrap_err();
    assert!(err(Tool::Pub, Some("311"), &["publish", "content-type", "x"]).contains("3.1.1"));
    assert!(err(Tool::Pub, Some("mqttv311"), &["connect", "receive-maximum", "5"]).contains("cannot carry"));
    assert!(
        err(Tool::Pub, None, &["publish", "session-expiry-interval", "3"]).contains("may not appear in PUBLISH"),
        "as mosquitto_pub: not allowed for publish"
    );
    assert!(err(Tool::Pub, None, &["subscribe", "user-property", "k", "v"]).contains("pub takes -D for"));
    assert!(err(Tool::Sub, None, &["publish", "content-type", "x"]).contains("sub takes -D for"));
    assert!(err(Tool::Pub, None, &["will", "content-type", "x"]).contains("not a command"));
    assert!(err(Tool::Pub, None, &["publish", "bogus", "1"]).contains("not a property"));
    assert!(err(Tool::Pub, None, &["publish", "user-property", "k"]).contains("a NAME and a VALUE"));
    assert!(err(Tool::Pub, None, &["publish", "content-type", "a", "b"]).contains("one VALUE"));
    assert!(err(Tool::Pub, None, &["connect", "receive-maximum", "70000"]).contains("0 to 65535"));
    assert!(err(Tool::Pub, None, &["connect", "receive-maximum", "0"]).contains("must not be 0"));
    assert!(err(Tool::Pub, None, &["publish", "payload-format-indicator", "2"]).contains("0 to 1"));
    assert!(err(Tool::Pub, None, &["publish", "response-topic", "a/#"]).contains("[MQTT5-3.3.2-14]"));
    assert!(err(Tool::Pub, None, &["connect", "authentication-method", "x"]).contains("not supported"));
    assert!(parse(
        Tool::Pub,
        None,
        None,
        &[&["connect", "receive-maximum", "5"], &["connect", "receive-maximum", "6"]]
    )
    .unwrap_err()
    .contains("more than once"));
}

#[test]
fn connect_options_map_onto_the_client_options() {
    let base = ConnectOptions { client_id: "c".into(), keep_alive: 60, ..ConnectOptions::default() };
    // 3.1.1: as before 5.0.
    assert_eq!(base.client_options(), crate::client::ClientOptions::new("c", true));
    // 5.0 with -c: Clean Start 0 and, as mosquitto, a session that never expires unless -x says.
    let persistent = ConnectOptions { version: Version::V5, persistent: true, ..base.clone() };
    let o = persistent.client_options();
    assert_eq!((o.version, o.clean_session, o.session_expiry), (Version::V5, false, u32::MAX));
    let o = ConnectOptions { session_expiry: Some(30), ..persistent }.client_options();
    assert_eq!(o.session_expiry, 30);
    let o = ConnectOptions { version: Version::V5, ..base }.client_options();
    assert_eq!((o.clean_session, o.session_expiry), (true, 0));
}

#[test]
fn exit_codes_tell_3_1_1_and_5_0_refusals_apart() {
    use crate::protocol::ConnectReturnCode;
    assert_eq!(CommandError::Refused(ConnectReturnCode::NotAuthorized.into()).exit_code(), 15);
    assert_eq!(CommandError::Refused(ReasonCode::NOT_AUTHORIZED.into()).exit_code(), 135, "as mosquitto_sub");
    assert_eq!(CommandError::PublishRefused(ReasonCode::NOT_AUTHORIZED).exit_code(), 5);
    assert_eq!(CommandError::Refused(ReasonCode::BANNED.into()).to_string(), "connection refused: Banned (0x8a)");
    assert_eq!(
        CommandError::Refused(ConnectReturnCode::NotAuthorized.into()).to_string(),
        "connection refused: not authorised"
    );
}
