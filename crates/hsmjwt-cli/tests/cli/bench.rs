//! `hsmjwt bench` with a key in a file: a short run, text and JSON output, bad arguments;
//! with a SoftHSM2 key behind the fault-injecting module: a load generator that counts
//! failures and goes on.

use hsmjwt_testkit::faults::Faults;
use hsmjwt_testkit::softhsm::{self, Builder, PIN};

use crate::{hsmjwt, hsmjwt_with, json, p};

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

/// `hsmjwt bench` through the fault module in front of SoftHSM2 (configured by
/// `HSMJWT_FAULTS`, as a child process is): with 1% of the calls failing at random it counts
/// the failed signatures, goes on and exits 0; when every `C_Sign` fails it mints nothing
/// and exits 1 with the first failure.
#[test]
fn bench_counts_hsm_faults_and_goes_on() {
    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let hsm = Builder::new(installation)
        .token("bench-faults")
        .key("bench-faults", "p256", "01", "EC:prime256v1")
        .build()
        .unwrap();
    let faults = Faults::find().unwrap();
    let conf = hsm.env()[0].1.to_str().unwrap().to_owned();
    let target = hsm.module().to_str().unwrap().to_owned();
    let bench = |spec: &str| {
        hsmjwt_with(
            &[
                "bench",
                "--key",
                "pkcs11:token=bench-faults;object=p256",
                "--threads",
                "2",
                "--seconds",
                "1.5",
                "--json",
            ],
            None,
            &[
                ("SOFTHSM2_CONF", &conf),
                ("PKCS11_MODULE", faults.to_str().unwrap()),
                ("HSMJWT_FAULTS_TARGET", &target),
                ("HSMJWT_FAULTS", spec),
                ("HSMJWT_PIN", PIN),
            ],
        )
    };

    let out = bench(
        "rate=0.01; rv=DEVICE_ERROR, SESSION_HANDLE_INVALID, OBJECT_HANDLE_INVALID, \
         USER_NOT_LOGGED_IN, GENERAL_ERROR; seed=77",
    )
    .ok();
    let v = json(&out);
    println!("bench through 1% faults: {v}");
    let tokens = v["tokens"].as_u64().unwrap();
    let errors = v["errors"].as_u64().unwrap();
    assert!(tokens > 100, "{out}");
    assert!(errors > 0, "no fault reached the bench: {out}");
    assert!(v["first_error"].as_str().is_some(), "{out}");

    let line = bench("rate:C_Sign=1; rv=GENERAL_ERROR").fails();
    assert!(line.contains("C_Sign with CKM_ECDSA failed"), "{line}");
}
