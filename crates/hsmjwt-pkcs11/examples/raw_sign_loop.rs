//! A bare `cryptoki` signing loop, started the way `hsmjwt bench` starts its threads, to
//! tell what a PKCS#11 module does by itself from what hsmjwt adds.
//!
//! ```text
//! cargo run --release -p hsmjwt-pkcs11 --example raw_sign_loop -- \
//!     MODULE TOKEN LABEL PIN THREADS SECONDS
//! ```
//!
//! One shared context; each thread opens its own session, logs in (the first login counts,
//! the others find the user logged in), finds the private key by label, signs one untimed
//! `CKM_ECDSA` over a SHA-256 digest, then all threads start together and sign until the
//! time is up. Prints `threads`, `signatures`, and signatures per second.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Barrier;
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [module, token, label, pin, threads, seconds] = args.as_slice() else {
        eprintln!("usage: raw_sign_loop MODULE TOKEN LABEL PIN THREADS SECONDS");
        std::process::exit(2);
    };
    let threads: usize = threads.parse().expect("THREADS is a number");
    let seconds: f64 = seconds.parse().expect("SECONDS is a number");
    let ctx = Pkcs11::new(module).expect("load the module");
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .expect("C_Initialize");
    let slot = ctx
        .get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == token))
        .expect("the token");
    let digest = [7u8; 32];
    let start = Barrier::new(threads + 1);
    let stop = Duration::from_secs_f64(seconds);
    let counts: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (ctx, start) = (&ctx, &start);
                s.spawn(move || {
                    let session = ctx.open_ro_session(slot).expect("C_OpenSession");
                    match session.login(UserType::User, Some(&AuthPin::from(pin.clone()))) {
                        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                        Err(e) => panic!("C_Login: {e}"),
                    }
                    let key = session
                        .find_objects(&[
                            Attribute::Class(ObjectClass::PRIVATE_KEY),
                            Attribute::Label(label.as_bytes().to_vec()),
                        ])
                        .expect("C_FindObjects")[0];
                    session
                        .sign(&Mechanism::Ecdsa, key, &digest)
                        .expect("C_Sign");
                    start.wait();
                    let t = Instant::now();
                    let mut n = 0u64;
                    while t.elapsed() < stop {
                        session
                            .sign(&Mechanism::Ecdsa, key, &digest)
                            .expect("C_Sign");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        start.wait();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let total: u64 = counts.iter().sum();
    #[allow(clippy::cast_precision_loss)]
    let rate = total as f64 / seconds;
    println!("threads {threads} signatures {total} per_second {rate:.0}");
}
