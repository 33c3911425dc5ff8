//! `hsmjwt bench` with a key in a file: a short run, text and JSON output, bad arguments.

use crate::{hsmjwt, json, p};

#[test]
fn bench_mints_for_the_given_time_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("es256.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();

    let out = hsmjwt(&[
        "bench",
        "--key",
        p(&key),
        "--seconds",
        "1",
        "--threads",
        "2",
        "--json",
    ])
    .ok();
    let v = json(&out);
    assert_eq!(v["alg"], "ES256", "{out}");
    assert_eq!(v["threads"], 2, "{out}");
    let tokens = v["tokens"].as_u64().unwrap();
    assert!(tokens > 10, "{out}");
    let seconds = v["seconds"].as_f64().unwrap();
    assert!((0.9..5.0).contains(&seconds), "{out}");
    let rate = v["tokens_per_second"].as_f64().unwrap();
    #[allow(clippy::cast_precision_loss)]
    let expected = tokens as f64 / seconds;
    assert!((rate - expected).abs() / expected < 0.01, "{out}");
    let p50 = v["latency_us"]["p50"].as_f64().unwrap();
    let p99 = v["latency_us"]["p99"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= p99, "{out}");
    assert_eq!(v["errors"], 0, "{out}");
    assert_eq!(v["first_error"], serde_json::Value::Null, "{out}");

    let text = hsmjwt(&[
        "bench",
        "--key",
        p(&key),
        "--alg",
        "ES256",
        "--seconds",
        "0.3",
    ])
    .ok();
    assert!(text.contains("tokens/s"), "{text}");
    assert!(text.contains("p50") && text.contains("p99"), "{text}");
}

#[test]
fn bench_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("es256.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    let line = hsmjwt(&["bench", "--key", p(&key), "--threads", "0"]).fails();
    assert!(line.contains("--threads"), "{line}");
    let line = hsmjwt(&["bench", "--key", p(&key), "--seconds", "0"]).fails();
    assert!(line.contains("--seconds"), "{line}");
    let line = hsmjwt(&[
        "bench",
        "--key",
        p(&key),
        "--alg",
        "RS256",
        "--seconds",
        "1",
    ])
    .fails();
    assert!(line.contains("RS256") || line.contains("key"), "{line}");
    hsmjwt(&[
        "bench",
        "--key",
        p(&dir.path().join("missing.pem")),
        "--seconds",
        "1",
    ])
    .fails();
}
