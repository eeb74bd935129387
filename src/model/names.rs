//! Naming rules of Kusto entities, the Kusto sink connector and Kafka topics.

/// Kusto's limit on the length of an entity name.
pub const KUSTO_NAME_MAX: usize = 1024;
/// Kafka's limit on the length of a topic name.
pub const KAFKA_TOPIC_MAX: usize = 249;

/// [`check_kusto_name`] but the length, as a regular expression that Rust and ECMAScript (with
/// the `u` flag JSON Schema tools use) read alike, for the editor schema.
pub const KUSTO_NAME_PATTERN: &str =
    r"^[\p{Alphabetic}\p{N}_.-]([\p{Alphabetic}\p{N}_ .-]*[\p{Alphabetic}\p{N}_.-])?$";

/// [`check_kafka_topic_name`] but the length, as a regular expression (no look-around, so Rust
/// reads it too): not `.` or `..`.
pub const KAFKA_TOPIC_PATTERN: &str =
    r"^([A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\.\.[A-Za-z0-9._-]+)$";

/// [`is_sink_safe_name`] as a regular expression.
pub const SINK_SAFE_NAME_PATTERN: &str = r"^[A-Za-z0-9_.-]+$";

/// Checks a Kusto entity name (database, table, column, mapping) against the service's rules:
/// letters, digits, `_`, space, `.` and `-`, at most 1,024 characters, not blank, no surrounding
/// spaces. Returns the reason when the name is invalid, so the caller can point at it.
pub fn check_kusto_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("a Kusto name cannot be empty or only spaces".into());
    }
    if name.chars().count() > KUSTO_NAME_MAX {
        return Err(format!(
            "a Kusto name is at most {KUSTO_NAME_MAX} characters long, this one has {}",
            name.chars().count()
        ));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err("a Kusto name cannot start or end with a space".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | ' ' | '.' | '-')))
    {
        return Err(format!(
            "character {bad:?} is not allowed in a Kusto name (letters, digits, '_', ' ', '.', '-')"
        ));
    }
    Ok(())
}

/// Whether the Kusto sink connector accepts this database, table or mapping name in a route:
/// since 5.2.3 it requires `^[A-Za-z0-9_.-]+$` (a KQL-injection fix), which is stricter than Kusto.
pub fn is_sink_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Checks a Kafka topic name: `[a-zA-Z0-9._-]`, at most 249 characters, not `.` or `..`.
pub fn check_kafka_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a topic name cannot be empty".into());
    }
    if name == "." || name == ".." {
        return Err("a topic name cannot be '.' or '..'".into());
    }
    if name.len() > KAFKA_TOPIC_MAX {
        return Err(format!(
            "a topic name is at most {KAFKA_TOPIC_MAX} characters long, this one has {}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "character {bad:?} is not allowed in a topic name (ASCII letters, digits, '.', '_', '-')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_say_what_the_checks_say() {
        let kusto = regex::Regex::new(KUSTO_NAME_PATTERN).expect("pattern");
        let topic = regex::Regex::new(KAFKA_TOPIC_PATTERN).expect("pattern");
        let sink = regex::Regex::new(SINK_SAFE_NAME_PATTERN).expect("pattern");
        for name in [
            "GamePlay",
            "Zeit ü-1.v2",
            "a",
            "_",
            ".",
            "..",
            "...",
            ".a",
            "..a",
            "a b",
            " a",
            "a ",
            " ",
            "",
            "a/b",
            "Modèle",
            "日本",
            "x\ty",
            "a'b",
            "telemetry.dlq",
            "a-b_c.d",
            "Ⅻ",
        ] {
            assert_eq!(
                kusto.is_match(name),
                check_kusto_name(name).is_ok(),
                "{name:?}"
            );
            assert_eq!(
                topic.is_match(name),
                check_kafka_topic_name(name).is_ok(),
                "{name:?}"
            );
            assert_eq!(sink.is_match(name), is_sink_safe_name(name), "{name:?}");
        }
    }

    #[test]
    fn kusto_names() {
        assert!(check_kusto_name("GamePlay").is_ok());
        assert!(check_kusto_name("Game Play-2.v1").is_ok());
        assert_eq!(
            check_kusto_name("Game/Play").unwrap_err(),
            "character '/' is not allowed in a Kusto name (letters, digits, '_', ' ', '.', '-')"
        );
        assert!(check_kusto_name(" Lead").is_err());
        assert!(check_kusto_name("   ").is_err());
        assert!(check_kusto_name(&"a".repeat(1025)).is_err());
        assert!(check_kusto_name(&"a".repeat(1024)).is_ok());
    }

    #[test]
    fn sink_names_are_stricter() {
        assert!(is_sink_safe_name("Game_Play.v1-2"));
        assert!(!is_sink_safe_name("Game Play"));
        assert!(!is_sink_safe_name(""));
    }

    #[test]
    fn topic_names() {
        assert!(check_kafka_topic_name("gameplay.events-v1").is_ok());
        assert!(check_kafka_topic_name("..").is_err());
        assert!(check_kafka_topic_name("game play").is_err());
        assert!(check_kafka_topic_name(&"t".repeat(250)).is_err());
    }
}
