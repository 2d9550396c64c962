//! Connection strings against the Connection String and URI Options
//! specifications: each valid string is compared with the defaults plus
//! the fields it should change; each invalid one with a fragment of its
//! error message.

use std::path::PathBuf;
use std::time::Duration;

use bson::doc;

use super::*;
use wire::Compressor;

fn address(host: &str, port: u16) -> ServerAddress {
    ServerAddress {
        host: host.to_owned(),
        port,
    }
}

fn check(uri: &str, edit: impl FnOnce(&mut ClientOptions)) {
    let mut expected = ClientOptions::default();
    edit(&mut expected);
    match ClientOptions::parse(uri) {
        Ok(parsed) => assert_eq!(parsed, expected, "{uri}"),
        Err(error) => panic!("{uri}: {error}"),
    }
}

fn check_invalid(uri: &str, fragment: &str) {
    match ClientOptions::parse(uri) {
        Ok(parsed) => panic!("{uri} parsed as {parsed:?}"),
        Err(error) => {
            assert!(
                matches!(error.kind(), ErrorKind::InvalidArgument { .. }),
                "{uri}: {error}"
            );
            assert!(error.to_string().contains(fragment), "{uri}: {error}");
        }
    }
}

fn credential(username: &str, password: &str, source: &str) -> Option<Credential> {
    Some(Credential {
        username: username.to_owned(),
        password: password.to_owned(),
        source: source.to_owned(),
        mechanism: None,
    })
}

#[test]
fn uri_hosts_and_ports_parse() {
    check("mongodb://localhost", |_| {});
    check("mongodb://localhost/", |_| {});
    check("mongodb://Example.COM:27018", |o| {
        o.hosts = vec![address("example.com", 27018)]
    });
    check("mongodb://a,b:2,[::1],[fe80::1]:3", |o| {
        o.hosts = vec![
            address("a", 27017),
            address("b", 2),
            address("::1", 27017),
            address("fe80::1", 3),
        ]
    });
    check("mongodb://127.0.0.1:65535/?", |o| {
        o.hosts = vec![address("127.0.0.1", 65535)]
    });
    check("mongodb://h?appName=x", |o| {
        o.hosts = vec![address("h", 27017)];
        o.app_name = Some("x".to_owned());
    });
}

#[test]
fn uri_credentials_and_auth_source_resolve() {
    check("mongodb://u:p@localhost", |o| {
        o.credential = credential("u", "p", "admin")
    });
    check("mongodb://u%3Ax:p%40ss%2Fw@localhost/shop", |o| {
        o.credential = credential("u:x", "p@ss/w", "shop");
        o.default_database = Some("shop".to_owned());
    });
    check("mongodb://u:p@localhost/shop?authSource=users", |o| {
        o.credential = credential("u", "p", "users");
        o.default_database = Some("shop".to_owned());
    });
    check("mongodb://u:p@localhost/?authMechanism=SCRAM-SHA-1", |o| {
        o.credential = credential("u", "p", "admin");
        if let Some(c) = o.credential.as_mut() {
            c.mechanism = Some(AuthMechanism::ScramSha1);
        }
    });
    check("mongodb://u:@localhost", |o| {
        o.credential = credential("u", "", "admin")
    });
}

#[test]
fn uri_concerns_and_flags_parse() {
    check(
        "mongodb://h/?w=majority&wtimeoutMS=500&journal=true&readConcernLevel=majority",
        |o| {
            o.hosts = vec![address("h", 27017)];
            o.write_concern = Some(doc! {"w": "majority", "wtimeout": 500_i64, "j": true});
            o.read_concern = Some(doc! {"level": "majority"});
        },
    );
    check("mongodb://h/?w=2", |o| {
        o.hosts = vec![address("h", 27017)];
        o.write_concern = Some(doc! {"w": 2});
    });
    check(
        "mongodb://h/?RETRYWRITES=false&retryReads=false&replicaSet=rs0&directConnection=true",
        |o| {
            o.hosts = vec![address("h", 27017)];
            o.retry_writes = false;
            o.retry_reads = false;
            o.replica_set = Some("rs0".to_owned());
            o.direct_connection = true;
        },
    );
    check(
        "mongodb://h/?connectTimeoutMS=0&serverSelectionTimeoutMS=250&maxPoolSize=0",
        |o| {
            o.hosts = vec![address("h", 27017)];
            o.connect_timeout = None;
            o.server_selection_timeout = Duration::from_millis(250);
            o.max_pool_size = None;
        },
    );
    check(
        "mongodb://h/?maxPoolSize=5&readPreference=primaryPreferred",
        |o| {
            o.hosts = vec![address("h", 27017)];
            o.max_pool_size = Some(5);
            o.read_preference = ReadPreference::PrimaryPreferred;
        },
    );
    check("mongodb://h/?appName=a&APPNAME=b", |o| {
        o.hosts = vec![address("h", 27017)];
        o.app_name = Some("b".to_owned());
        o.warnings =
            vec!["option 'appname' is given more than once; the last value wins".to_owned()];
    });
    check(
        "mongodb://h/?loadBalanced=false&tlsDisableOCSPEndpointCheck=true",
        |o| {
            o.hosts = vec![address("h", 27017)];
            o.warnings = vec![
                "option 'tlsdisableocspendpointcheck' is accepted but has no effect".to_owned(),
            ];
        },
    );
    check("mongodb://h/?appName=my%20app%26co", |o| {
        o.hosts = vec![address("h", 27017)];
        o.app_name = Some("my app&co".to_owned());
    });
    check("mongodb://h/?socketTimeoutMS=100", |o| {
        o.hosts = vec![address("h", 27017)];
        o.socket_timeout = Some(Duration::from_millis(100));
    });
    check("mongodb://h/?socketTimeoutMS=0", |o| {
        o.hosts = vec![address("h", 27017)];
    });
    check("mongodb://h/?localThresholdMS=100", |o| {
        o.hosts = vec![address("h", 27017)];
        o.warnings = vec!["option 'localthresholdms' is accepted but has no effect".to_owned()];
    });
    check("mongodb://h/?compressors=zstd,snappy,zlib", |o| {
        o.hosts = vec![address("h", 27017)];
        o.compressors = vec![Compressor::Zstd, Compressor::Snappy, Compressor::Zlib];
    });
    check("mongodb://h/?compressors=zlib,lz4,zlib,noop", |o| {
        o.hosts = vec![address("h", 27017)];
        o.compressors = vec![Compressor::Zlib];
        o.warnings = vec![
            "compressor 'lz4' is not supported; ignored".to_owned(),
            "compressor 'noop' is not supported; ignored".to_owned(),
        ];
    });
}

#[test]
fn uri_tls_options_parse() {
    let tls = |edit: fn(&mut TlsOptions)| {
        let mut options = TlsOptions::default();
        edit(&mut options);
        Some(options)
    };
    check("mongodb://h/?tls=true", |o| {
        o.hosts = vec![address("h", 27017)];
        o.tls = tls(|_| {});
    });
    check("mongodb://h/?ssl=true&tls=true", |o| {
        o.hosts = vec![address("h", 27017)];
        o.tls = tls(|_| {});
    });
    check("mongodb://h/?tls=false", |o| {
        o.hosts = vec![address("h", 27017)]
    });
    check(
        "mongodb://h/?tlsCAFile=%2Fetc%2Fca.pem&tlsCertificateKeyFile=c.pem",
        |o| {
            o.hosts = vec![address("h", 27017)];
            o.tls = tls(|t| {
                t.ca_file = Some(PathBuf::from("/etc/ca.pem"));
                t.certificate_key_file = Some(PathBuf::from("c.pem"));
            });
        },
    );
    check(
        "mongodb://h/?tls=true&tlsAllowInvalidCertificates=true",
        |o| {
            o.hosts = vec![address("h", 27017)];
            o.tls = tls(|t| t.allow_invalid_certificates = true);
        },
    );
    check("mongodb://h/?tlsInsecure=true", |o| {
        o.hosts = vec![address("h", 27017)];
        o.tls = tls(|t| {
            t.allow_invalid_certificates = true;
            t.allow_invalid_hostnames = true;
        });
    });
}

#[test]
fn uri_invalid_strings_are_refused_with_a_reason() {
    for (uri, fragment) in [
        ("mongodb+srv://cluster.example.com", "not supported"),
        ("http://localhost", "must start with 'mongodb://'"),
        ("mongodb://", "names no host"),
        ("mongodb://h:0", "invalid port"),
        ("mongodb://h:65536", "invalid port"),
        ("mongodb://h:x", "invalid port"),
        ("mongodb://a,,b", "empty host"),
        ("mongodb://[::1", "unterminated IPv6"),
        ("mongodb://[::1]x", "after an IPv6"),
        (
            "mongodb://%2Ftmp%2Fmongodb-27017.sock",
            "Unix domain sockets",
        ),
        ("mongodb://u@s@h", "'@'"),
        ("mongodb://u:p:q@h", "':'"),
        ("mongodb://:p@h", "user name is empty"),
        ("mongodb://u@h", "no password"),
        ("mongodb://h/a/b", "'/'"),
        ("mongodb://h/?nosuch=1", "unknown option 'nosuch'"),
        ("mongodb://h/?tlsNoSuch=1", "unknown option 'tlsnosuch'"),
        ("mongodb://h/?w", "has no value"),
        ("mongodb://h/?w=-1", "invalid value '-1'"),
        ("mongodb://h/?w=0&journal=true", "w=0 and journal=true"),
        ("mongodb://h/?retryWrites=yes", "invalid value 'yes'"),
        ("mongodb://h/?wtimeoutMS=-5", "invalid value '-5'"),
        (
            "mongodb://h/?serverSelectionTimeoutMS=0",
            "serverselectiontimeoutms",
        ),
        ("mongodb://h/?maxPoolSize=99999999999", "maxpoolsize"),
        ("mongodb://a,b/?directConnection=true", "multiple hosts"),
        (
            "mongodb://h/?readPreference=secondary",
            "reads from the primary",
        ),
        (
            "mongodb://h/?readPreference=sideways",
            "invalid value 'sideways'",
        ),
        (
            "mongodb://h/?authMechanism=SCRAM-SHA-256",
            "requires a user name",
        ),
        (
            "mongodb://u:p@h/?authMechanism=MONGODB-X509",
            "not supported",
        ),
        ("mongodb://h/?loadBalanced=true", "not supported"),
        ("mongodb://h/?tls=true&ssl=false", "must agree"),
        ("mongodb://h/?tls=false&tlsCAFile=ca.pem", "contradicts"),
        (
            "mongodb://h/?tlsInsecure=true&tlsAllowInvalidCertificates=true",
            "cannot be combined",
        ),
        (
            "mongodb://h/?tlsInsecure=false&tlsAllowInvalidHostnames=false",
            "cannot be combined",
        ),
        (
            "mongodb://h/?tlsAllowInvalidCertificates=false&tlsDisableOCSPEndpointCheck=false",
            "cannot be combined",
        ),
        (
            "mongodb://h/?tlsDisableOCSPEndpointCheck=true&tlsDisableCertificateRevocationCheck=true",
            "cannot be combined",
        ),
        ("mongodb://h/?appName=%zz", "percent-encoding"),
        ("mongodb://h/?appName=%FF", "UTF-8"),
        ("mongodb://h/?replicaSet=", "invalid value ''"),
    ] {
        check_invalid(uri, fragment);
    }
    let long_name = format!("mongodb://h/?appName={}", "a".repeat(129));
    check_invalid(&long_name, "at most 128 bytes");
}

#[test]
fn uri_addresses_print_as_hello_spells_them() {
    for (text, printed) in [
        ("h", "h:27017"),
        ("H:1", "h:1"),
        ("[::1]", "[::1]:27017"),
        ("[::1]:5", "[::1]:5"),
    ] {
        let parsed = ServerAddress::parse(text).map(|a| a.to_string());
        assert_eq!(parsed.ok().as_deref(), Some(printed), "{text}");
    }
}

#[test]
fn uri_credential_debug_hides_the_password() {
    let options = ClientOptions::parse("mongodb://user:hunter2@h").map(|o| format!("{o:?}"));
    let printed = options.unwrap_or_default();
    assert!(printed.contains("user"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
}

proptest::proptest! {
    #[test]
    fn uri_parsing_never_panics(tail in "\\PC{0,80}") {
        let _ = ClientOptions::parse(&format!("mongodb://{tail}"));
    }

    #[test]
    fn uri_parsing_never_panics_on_option_soup(
        pairs in proptest::collection::vec(("[a-zA-Z%0-9]{0,12}", "[a-z%0-9:/\\[\\]@,.-]{0,12}"), 0..6),
    ) {
        let options: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = ClientOptions::parse(&format!("mongodb://u:p@h:1/db?{}", options.join("&")));
    }
}
