use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn every_field_set() -> SinkSettings {
    SinkSettings {
        tasks_max: 3,
        routes: vec![
            Route {
                topic: "clicks".into(),
                db: "web".into(),
                table: "Clicks".into(),
                format: "json".into(),
                mapping: Some("clicks_json".into()),
                streaming: false,
            },
            Route {
                topic: "views".into(),
                db: "web".into(),
                table: "Views".into(),
                format: "csv".into(),
                mapping: None,
                streaming: true,
            },
        ],
        query_url: Some("https://c.westeurope.kusto.windows.net".into()),
        ingest_url: Some("https://ingest-c.westeurope.kusto.windows.net".into()),
        auth: SinkAuthSettings {
            strategy: SinkAuthStrategy::Application,
            app_id: Some("11111111-2222-3333-4444-555555555555".into()),
            authority: Some("tenant".into()),
            app_key: Some("${env:SINK_KEY}".into()),
        },
        errors: ErrorSettings {
            behavior: OnError::Log,
            tolerance: Tolerance::All,
            dead_letter_queue: Some(DeadLetterSettings {
                topic: "dlq".into(),
                replication_factor: Some(3),
                context_headers: true,
            }),
            retry_max_time_ms: Some(60_000),
            retry_backoff_ms: Some(500),
        },
        flush: FlushSettings {
            size_bytes: Some(1_048_576),
            interval_ms: Some(10_000),
        },
        key_converter: ConverterSettings {
            class: converter_class("string").to_string(),
            schemas_enable: false,
            properties: BTreeMap::new(),
        },
        value_converter: ConverterSettings {
            class: converter_class("avro").to_string(),
            schemas_enable: true,
            properties: map(&[("schema.registry.url", "http://registry:8081")]),
        },
        extra: map(&[("consumer.override.max.poll.records", "500")]),
    }
}

#[test]
fn settings_written_and_read_back_are_the_same_with_nothing_to_report() {
    let settings = every_field_set();
    let config = settings.to_config("web-stack");
    assert_eq!(config[key::CLASS], KUSTO_SINK_CLASS);
    assert_eq!(config[key::TOPICS], "clicks,views");
    assert_eq!(config[OWNER_KEY], "web-stack");
    assert_eq!(
        config["value.converter.schema.registry.url"],
        "http://registry:8081"
    );
    assert_eq!(config["value.converter.schemas.enable"], "true");
    let reading = SinkSettings::read(&config).expect("routes read");
    assert_eq!(reading.findings, vec![]);
    assert_eq!(reading.settings, settings);
    assert_eq!(reading.settings.to_config("web-stack"), config);
}

#[test]
fn a_config_kustoplan_did_not_write_reads_with_findings_and_keeps_what_fields_cannot_hold() {
    let config = map(&[
        (key::CLASS, KUSTO_SINK_CLASS),
        ("name", "legacy"),
        (key::TOPICS, "a,b"),
        (
            key::ROUTES,
            "[{'topic':'a','db':'d','table':'A','format':'JSON'}]",
        ),
        (key::TASKS_MAX, "02"),
        (key::BEHAVIOR_ON_ERROR, "LOG"),
        (key::FLUSH_SIZE_BYTES, "1k"),
        (key::KEY_CONVERTER, "org.example.Custom"),
        ("key.converter.schemas.enable", "maybe"),
        ("custom.setting", "kept"),
    ]);
    let reading = SinkSettings::read(&config).expect("routes read");
    let s = &reading.settings;
    assert_eq!(s.tasks_max, 1);
    assert_eq!(s.errors.behavior, OnError::Fail);
    assert_eq!(s.routes[0].format, "json");
    assert_eq!(s.key_converter.class, "org.example.Custom");
    assert_eq!(s.key_converter.properties["schemas.enable"], "maybe");
    assert_eq!(
        s.extra,
        map(&[
            (key::BEHAVIOR_ON_ERROR, "LOG"),
            (key::FLUSH_SIZE_BYTES, "1k"),
            ("custom.setting", "kept"),
        ]),
        "`tasks.max` cannot be passed through, the others are kept verbatim"
    );
    let defaulted = |k: &str| {
        reading
            .findings
            .iter()
            .any(|f| matches!(f, ReadFinding::Defaulted { key, .. } if key == k))
    };
    for k in [
        key::AUTH_STRATEGY,
        key::ERRORS_TOLERANCE,
        key::VALUE_CONVERTER,
        "value.converter.schemas.enable",
    ] {
        assert!(defaulted(k), "{k}: {:?}", reading.findings);
    }
    assert!(!defaulted(key::BEHAVIOR_ON_ERROR), "it is set, to LOG");
    assert!(reading.findings.contains(&ReadFinding::Inexpressible {
        key: key::TASKS_MAX
    }));
    assert!(
        reading
            .findings
            .contains(&ReadFinding::TopicsDifferFromRoutes)
    );
    let written = s.to_config("x");
    assert_eq!(written[key::BEHAVIOR_ON_ERROR], "LOG", "extra wins");
    assert_eq!(written["key.converter.schemas.enable"], "maybe");
    assert_eq!(written[key::TOPICS], "a");
}

#[test]
fn unreadable_routes_are_an_error_and_absent_ones_none() {
    let config = map(&[(key::ROUTES, "[{'topic'")]);
    assert!(SinkSettings::read(&config).is_err());
    assert_eq!(routes_in(&config), None);
    assert_eq!(routes_in(&map(&[])), None);
}

#[test]
fn converter_short_names_map_both_ways() {
    for short in ["json", "string", "bytearray", "avro"] {
        let class = converter_class(short);
        assert_ne!(class, short);
        assert_eq!(converter_short_name(class), Some(short));
    }
    assert_eq!(converter_class("org.example.Custom"), "org.example.Custom");
    assert_eq!(converter_short_name("org.example.Custom"), None);
}

#[test]
fn words_are_spelled_as_connect_stores_them() {
    assert_eq!(
        SinkAuthStrategy::WorkloadIdentity.connect_value(),
        "workload_identity"
    );
    assert_eq!(OnError::Ignore.connect_value(), "ignore");
    assert_eq!(Tolerance::All.connect_value(), "all");
    assert_eq!(OnError::from_connect("log"), Some(OnError::Log));
    assert_eq!(
        OnError::from_connect("LOG"),
        None,
        "Connect is case-sensitive here"
    );
}

#[test]
fn of_the_sink_keys_only_the_app_key_is_masked() {
    use crate::model::connect::is_secret_key;
    let config = every_field_set().to_config("s");
    let secret: Vec<&String> = config.keys().filter(|k| is_secret_key(k)).collect();
    assert_eq!(secret, vec![key::APP_KEY]);
}
