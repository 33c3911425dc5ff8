//! Minting through a PKCS#11 token (SoftHSM2): RS256 and ES256, with 1 and 2 threads.
//!
//! Groups `hsm-ALG`:
//! - `hsmjwt-1t`, `hsmjwt-2t`: `hsmjwt::encode` with one `Pkcs11Signer` (session pool of
//!   two) shared by 1 or 2 threads;
//! - `cryptoki-1t`, `cryptoki-2t`: the limit, a bare `cryptoki` `C_Sign` loop on the same
//!   key over the same signing input (over its SHA-256 digest for ES256, which SoftHSM
//!   signs with `CKM_ECDSA`), one session per thread.
//!
//! Times are wall-clock per token: with 2 threads, half the tokens go to each.
//!
//! After criterion, `common::paired_with` measures the four interleaved, in rounds of
//! 50 ms blocks; the ratios of `cargo xtask bench` (ours vs the raw loop, 2 threads vs 1)
//! come from those rounds.
//!
//! Groups `hsm-MODULE-ES256` (`MODULE`: `kryoptic`, `tpm2`, `p11kit`): the same comparison,
//! one thread, through the other PKCS#11 implementations: `hsmjwt-1t` against a raw
//! `C_Sign` loop on the same module and key with the mechanism the signer chose
//! (`CKM_ECDSA_SHA256` over the signing input where the token has it, else `CKM_ECDSA`
//! over its digest). p11-kit's remoting and the software TPM are slow (a round trip, a TPM
//! command per signature): the ratio is what matters.
//!
//! Needs a token: `cargo xtask bench` prepares one and sets `SOFTHSM2_CONF`,
//! `PKCS11_MODULE`, `HSMJWT_PIN` and `HSMJWT_BENCH_TOKEN`; without `PKCS11_MODULE` the
//! groups are skipped (unless `HSMJWT_BENCH_REQUIRE=1`). For the other modules it starts a
//! token of each (label `bench-MODULE`, key `bench-p256`) and sets `HSMJWT_BENCH_MODULE_KIND`
//! (`KRYOPTIC`, `TPM2`, `P11KIT`) to the module's path, with the module's own variables
//! (`KRYOPTIC_CONF`, `TPM2_PKCS11_TCTI`, `TPM2_PKCS11_STORE`, `P11_KIT_SERVER_ADDRESS`);
//! a module whose variable is missing is skipped (unless `HSMJWT_BENCH_REQUIRE=1`).

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use hsmjwt::pkcs11::{Pkcs11Signer, Pkcs11Uri, SignerOptions, shared_context};
use hsmjwt::{Algorithm, Header};

/// The keys `cargo xtask bench` makes: (algorithm, label).
const KEYS: [(Algorithm, &str); 2] = [
    (Algorithm::RS256, "bench-rsa"),
    (Algorithm::ES256, "bench-p256"),
];

struct Env {
    module: PathBuf,
    token: String,
    pin: String,
}

fn env() -> Option<Env> {
    let module = std::env::var_os("PKCS11_MODULE").filter(|m| !m.is_empty());
    let Some(module) = module else {
        let msg = "PKCS11_MODULE is not set: the HSM benchmarks are skipped \
                   (`cargo xtask bench` prepares a SoftHSM2 token and sets it)";
        assert!(!common::required(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return None;
    };
    Some(Env {
        module: PathBuf::from(module),
        token: std::env::var("HSMJWT_BENCH_TOKEN").unwrap_or_else(|_| "hsmjwt-bench".into()),
        pin: std::env::var("HSMJWT_PIN").expect("HSMJWT_PIN is set with PKCS11_MODULE"),
    })
}

/// Runs `total` operations spread over `threads` threads (`op` gets the thread's index);
/// the wall-clock time.
fn parallel<F: Fn(usize) + Sync>(threads: u64, total: u64, op: F) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for i in 0..threads {
            let n = total / threads + u64::from(i < total % threads);
            let op = &op;
            let index = usize::try_from(i).expect("a thread index");
            s.spawn(move || {
                for _ in 0..n {
                    op(index);
                }
            });
        }
    });
    start.elapsed()
}

fn find_slot(ctx: &Pkcs11, label: &str) -> Slot {
    ctx.get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == label))
        .unwrap_or_else(|| panic!("no token labelled {label}"))
}

/// A logged-in session and the private key `label` on it, through cryptoki alone.
fn raw_session(ctx: &Pkcs11, slot: Slot, pin: &str, label: &str) -> (Session, ObjectHandle) {
    let session = ctx.open_ro_session(slot).expect("C_OpenSession");
    match session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    let keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .expect("C_FindObjects");
    assert_eq!(keys.len(), 1, "one private key labelled {label}");
    (session, keys[0])
}

fn bench_alg(c: &mut Criterion, env: &Env, alg: Algorithm, label: &str) {
    let uri = Pkcs11Uri::new()
        .with_token(&env.token)
        .with_object(label)
        .with_module_path(&env.module)
        .with_pin_value(env.pin.as_str().into());
    let signer = Pkcs11Signer::open(
        &uri,
        SignerOptions::default()
            .with_algorithm(alg)
            .with_pool_size(2),
    )
    .expect("open the PKCS#11 signer");
    let claims = common::claims();
    let header = Header::jwt(alg);
    let token = hsmjwt::encode(&header, &claims, &signer).expect("mint through the HSM");
    let signing_input = token.rsplit_once('.').expect("three parts").0.to_owned();
    // `Mechanism` is not `Sync`: each call makes its own, as the signer does.
    let mechanism = move || match alg {
        Algorithm::ES256 => Mechanism::Ecdsa,
        _ => Mechanism::Sha256RsaPkcs,
    };
    let data = match alg {
        Algorithm::ES256 => hsmjwt::core::HashAlg::Sha256.digest(signing_input.as_bytes()),
        _ => signing_input.as_bytes().to_vec(),
    };

    // The raw loop: its own sessions (one per thread) on the same token and key.
    let ctx = shared_context(&env.module).expect("the shared PKCS#11 context");
    let slot = find_slot(&ctx, &env.token);
    let raw: Vec<std::sync::Mutex<(Session, ObjectHandle)>> = (0..2)
        .map(|_| std::sync::Mutex::new(raw_session(&ctx, slot, &env.pin, label)))
        .collect();
    {
        let guard = raw[0].lock().unwrap();
        let sig = guard.0.sign(&mechanism(), guard.1, &data).expect("C_Sign");
        assert!(!sig.is_empty());
    }

    let ours = |threads: u64, n: u64| {
        parallel(threads, n, |_| {
            black_box(hsmjwt::encode(&header, &claims, &signer).unwrap());
        })
    };
    let limit = |threads: u64, n: u64| {
        parallel(threads, n, |i| {
            // Thread i keeps to session i.
            let guard = raw[i].lock().unwrap();
            black_box(
                guard
                    .0
                    .sign(&mechanism(), guard.1, black_box(&data))
                    .unwrap(),
            );
        })
    };

    let group_name = format!("hsm-{alg}");
    let mut group = c.benchmark_group(&group_name);
    // SoftHSM's own locking makes two-thread timings jumpy: more and longer samples.
    group.sample_size(20);
    group.measurement_time(std::time::Duration::from_secs(5));
    for threads in [1u64, 2] {
        group.bench_function(format!("hsmjwt-{threads}t"), |b| {
            b.iter_custom(|iters| ours(threads, iters));
        });
        group.bench_function(format!("cryptoki-{threads}t"), |b| {
            b.iter_custom(|iters| limit(threads, iters));
        });
    }
    group.finish();

    // The ratios: the same four, interleaved, with longer blocks and more rounds.
    common::paired_with(
        &group_name,
        common::PAIRED_HSM,
        vec![
            ("hsmjwt-1t", Box::new(|n| ours(1, n))),
            ("cryptoki-1t", Box::new(|n| limit(1, n))),
            ("hsmjwt-2t", Box::new(|n| ours(2, n))),
            ("cryptoki-2t", Box::new(|n| limit(2, n))),
        ],
    );
}

/// The other modules' groups: `(name, variable naming the module)`.
const MODULES: [(&str, &str); 3] = [
    ("kryoptic", "HSMJWT_BENCH_MODULE_KRYOPTIC"),
    ("tpm2", "HSMJWT_BENCH_MODULE_TPM2"),
    ("p11kit", "HSMJWT_BENCH_MODULE_P11KIT"),
];

/// `hsm-MODULE-ES256`: see the module notes.
fn bench_module(c: &mut Criterion, name: &str, module: PathBuf, pin: &str) {
    let token = format!("bench-{name}");
    let label = "bench-p256";
    let uri = Pkcs11Uri::new()
        .with_token(&token)
        .with_object(label)
        .with_module_path(&module)
        .with_pin_value(pin.into());
    let signer = Pkcs11Signer::open(
        &uri,
        SignerOptions::default()
            .with_algorithm(Algorithm::ES256)
            .with_pool_size(1),
    )
    .unwrap_or_else(|e| panic!("open the {name} signer: {e}"));
    let claims = common::claims();
    let header = Header::jwt(Algorithm::ES256);
    let jwt = hsmjwt::encode(&header, &claims, &signer).expect("mint through the module");
    let signing_input = jwt.rsplit_once('.').expect("three parts").0.to_owned();
    let hash_and_sign = signer.mechanism() == "CKM_ECDSA_SHA256";
    let mechanism = move || {
        if hash_and_sign {
            Mechanism::EcdsaSha256
        } else {
            Mechanism::Ecdsa
        }
    };
    let data = if hash_and_sign {
        signing_input.as_bytes().to_vec()
    } else {
        hsmjwt::core::HashAlg::Sha256.digest(signing_input.as_bytes())
    };
    let ctx = shared_context(&module).expect("the shared PKCS#11 context");
    let slot = find_slot(&ctx, &token);
    let raw = std::sync::Mutex::new(raw_session(&ctx, slot, pin, label));
    {
        let guard = raw.lock().unwrap();
        assert!(
            !guard
                .0
                .sign(&mechanism(), guard.1, &data)
                .expect("C_Sign")
                .is_empty()
        );
    }
    let ours = |n: u64| {
        parallel(1, n, |_| {
            black_box(hsmjwt::encode(&header, &claims, &signer).unwrap());
        })
    };
    let limit = |n: u64| {
        parallel(1, n, |_| {
            let guard = raw.lock().unwrap();
            black_box(
                guard
                    .0
                    .sign(&mechanism(), guard.1, black_box(&data))
                    .unwrap(),
            );
        })
    };
    let group_name = format!("hsm-{name}-ES256");
    let mut group = c.benchmark_group(&group_name);
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(3));
    group.bench_function("hsmjwt-1t", |b| b.iter_custom(ours));
    group.bench_function("cryptoki-1t", |b| b.iter_custom(limit));
    group.finish();
    common::paired_with(
        &group_name,
        common::PAIRED_HSM,
        vec![
            ("hsmjwt-1t", Box::new(ours)),
            ("cryptoki-1t", Box::new(limit)),
        ],
    );
}

fn hsm(c: &mut Criterion) {
    let Some(env) = env() else { return };
    for (alg, label) in KEYS {
        bench_alg(c, &env, alg, label);
    }
    for (name, var) in MODULES {
        match std::env::var_os(var).filter(|m| !m.is_empty()) {
            Some(module) => bench_module(c, name, PathBuf::from(module), &env.pin),
            None => {
                let msg = format!("{var} is not set: the {name} benchmark is skipped");
                assert!(!common::required(), "{msg}");
                eprintln!("SKIPPED: {msg}");
            }
        }
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = hsm
}
criterion_main!(benches);
