//! The text form of a configuration (`HSMJWT_FAULTS` at load, `hsmjwt_faults_configure_spec`
//! later): parts `key=value` separated by `;` (or by `,` when there is no `;`), blanks
//! around them ignored.
//!
//! - `rate=F` (a fraction, 0 to 1) or `rate_ppm=N` (calls in a million): every wrapped
//!   function that can fail;
//! - `rate:C_Sign=F`, `rate_ppm:C_Login=N`: one function (`C_` may be left out), applied
//!   after the rate for all whatever the order;
//! - `rv=DEVICE_ERROR|SESSION_HANDLE_INVALID`: the return values to choose from (`CKR_` may
//!   be left out; `,` separates them too when `;` separates the parts); required when a
//!   rate is not zero;
//! - `latency_ms=N` or `latency_us=N`: added to every `C_Sign`;
//! - `seed=N`: restarts the random sequence (non-zero).
//!
//! A configuration replaces the previous one whole: what it does not name is off.

use crate::{FAULTABLE, FAULTS, FUNCTIONS};

/// A configuration read from its text form.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Config {
    /// Per fault-able function (the first [`FAULTABLE`] of [`FUNCTIONS`]), calls in a million.
    pub(crate) rates_ppm: [u32; FAULTABLE],
    /// Bits of [`FAULTS`].
    pub(crate) rv_mask: u32,
    pub(crate) latency_us: u32,
    pub(crate) seed: Option<u64>,
}

/// The index of a fault-able function by name, `C_` optional.
fn faultable(name: &str) -> Result<usize, String> {
    let written = name.trim();
    let name = written.strip_prefix("C_").unwrap_or(written);
    FUNCTIONS
        .iter()
        .take(FAULTABLE)
        .position(|f| f.strip_prefix("C_") == Some(name))
        .ok_or_else(|| {
            format!(
                "`{written}` is not a function that can fail (one of {})",
                FUNCTIONS[..FAULTABLE].join(", ")
            )
        })
}

fn parse_ppm(key: &str, value: &str) -> Result<u32, String> {
    let value = value.trim();
    if key.starts_with("rate_ppm") {
        match value.parse::<u32>() {
            Ok(n) if n <= 1_000_000 => Ok(n),
            _ => Err(format!(
                "`{key}={value}`: a count from 0 to 1000000 is expected"
            )),
        }
    } else {
        match value.parse::<f64>() {
            Ok(f) if (0.0..=1.0).contains(&f) => {
                // In range by the check: 0 to 1,000,000.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let ppm = (f * 1_000_000.0).round() as u32;
                Ok(ppm)
            }
            _ => Err(format!(
                "`{key}={value}`: a fraction from 0 to 1 is expected"
            )),
        }
    }
}

fn parse_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("`{key}={value}`: a whole number is expected"))
}

/// Reads a configuration; the error names the part it could not read.
pub(crate) fn parse(spec: &str) -> Result<Config, String> {
    let mut config = Config::default();
    let mut all: Option<u32> = None;
    let mut one: Vec<(usize, u32)> = Vec::new();
    let separator = if spec.contains(';') { ';' } else { ',' };
    for part in spec.split(separator) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!("`{part}` is not `key=value`"));
        };
        let key = key.trim();
        match key.split_once(':') {
            Some((rate @ ("rate" | "rate_ppm"), function)) => {
                one.push((faultable(function)?, parse_ppm(rate, value)?));
            }
            _ => match key {
                "rate" | "rate_ppm" => all = Some(parse_ppm(key, value)?),
                "rv" => {
                    for name in value.split(['|', ',']) {
                        let name = name.trim();
                        let name = name.strip_prefix("CKR_").unwrap_or(name);
                        let (bit, _, _) =
                            FAULTS.iter().find(|(_, n, _)| *n == name).ok_or_else(|| {
                                format!(
                                    "`{name}` is not a return value the module injects (one of {})",
                                    FAULTS.map(|(_, n, _)| n).join(", ")
                                )
                            })?;
                        config.rv_mask |= bit;
                    }
                }
                "latency_us" => config.latency_us = parse_number(key, value)?,
                "latency_ms" => {
                    let ms: u32 = parse_number(key, value)?;
                    config.latency_us = ms.saturating_mul(1000);
                }
                "seed" => config.seed = Some(parse_number(key, value)?).filter(|s| *s != 0),
                _ => return Err(format!("unknown key `{key}`")),
            },
        }
    }
    if let Some(ppm) = all {
        config.rates_ppm = [ppm; FAULTABLE];
    }
    for (index, ppm) in one {
        if let Some(rate) = config.rates_ppm.get_mut(index) {
            *rate = ppm;
        }
    }
    if config.rv_mask == 0 && config.rates_ppm.iter().any(|r| *r > 0) {
        return Err("a rate without `rv=` injects nothing: name the return values".to_owned());
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn index(name: &str) -> usize {
        FUNCTIONS.iter().position(|f| *f == name).unwrap()
    }

    #[test]
    fn the_forms_of_the_brief_and_of_the_readme() {
        let c = parse("rate=0.01;rv=DEVICE_ERROR,SESSION_HANDLE_INVALID;latency_ms=0").unwrap();
        assert_eq!(c.rates_ppm, [10_000; FAULTABLE]);
        assert_eq!(c.rv_mask, 1 | 2);
        assert_eq!(c.latency_us, 0);
        // Without `;`, `,` separates the parts: a bare name is not `key=value`.
        let e = parse("rate=0.01,rv=DEVICE_ERROR,SESSION_HANDLE_INVALID").unwrap_err();
        assert!(
            e.contains("`SESSION_HANDLE_INVALID` is not `key=value`"),
            "{e}"
        );

        let c = parse("rate=0.01;rv=DEVICE_ERROR|CKR_SESSION_HANDLE_INVALID;latency_ms=2").unwrap();
        assert_eq!(c.rates_ppm, [10_000; FAULTABLE]);
        assert_eq!(c.rv_mask, 1 | 2);
        assert_eq!(c.latency_us, 2000);
        assert_eq!(c.seed, None);

        let c = parse(" rate_ppm=10000 , rv=DEVICE_ERROR|GENERAL_ERROR , latency_us=0 ").unwrap();
        assert_eq!(c.rates_ppm, [10_000; FAULTABLE]);
        assert_eq!(c.rv_mask, 1 | 16);
    }

    #[test]
    fn one_function_overrides_all_in_any_order() {
        let c = parse("rate:C_Sign=1,rate=0.5,rate_ppm:Login=7,rv=GENERAL_ERROR,seed=9").unwrap();
        for (i, rate) in c.rates_ppm.iter().enumerate() {
            let want = if i == index("C_Sign") {
                1_000_000
            } else if i == index("C_Login") {
                7
            } else {
                500_000
            };
            assert_eq!(*rate, want, "{}", FUNCTIONS[i]);
        }
        assert_eq!(c.seed, Some(9));
        let c = parse("rate:C_Sign=0.25,rv=GENERAL_ERROR").unwrap();
        assert_eq!(c.rates_ppm.iter().filter(|r| **r > 0).count(), 1);
    }

    #[test]
    fn what_it_cannot_read_is_an_error_naming_it() {
        for (spec, says) in [
            ("rate=2,rv=DEVICE_ERROR", "rate=2"),
            ("rate=-0.1,rv=DEVICE_ERROR", "rate=-0.1"),
            ("rate_ppm=1000001,rv=DEVICE_ERROR", "rate_ppm=1000001"),
            ("rate=0.1", "without `rv=`"),
            ("rv=DEVICE_ERROR|TOKEN_GONE", "TOKEN_GONE"),
            ("rate:C_CloseSession=0.1,rv=DEVICE_ERROR", "C_CloseSession"),
            ("rate:C_Encrypt=0.1,rv=DEVICE_ERROR", "Encrypt"),
            ("latency_ms=soon", "latency_ms=soon"),
            ("speed=1", "unknown key `speed`"),
            ("rate", "not `key=value`"),
        ] {
            let e = parse(spec).unwrap_err();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn an_empty_configuration_is_all_off() {
        assert_eq!(parse("").unwrap(), Config::default());
        assert_eq!(parse(" ; ; ").unwrap(), Config::default());
        assert_eq!(parse(" , , ").unwrap(), Config::default());
        assert_eq!(parse("rv=DEVICE_ERROR").unwrap().rates_ppm, [0; FAULTABLE]);
        assert_eq!(parse("seed=0").unwrap().seed, None);
    }
}
