//! `cse speed`: throughput and key-unwrap rates on this machine, like `openssl speed`.
//!
//! Each figure is measured for a fixed time on buffers already in memory, so it shows the engine
//! and the CPU, not the disk. The raw AES-256-CTR keystream over the same buffer is the baseline
//! the engine's seal and open are compared with.

use std::time::{Duration, Instant};

use aes::Aes256;
use cse_core::{
    ContentKey, ContentMaterial, CounterBlock, Envelope, MasterCipher, MultipartContext, Opener,
    Sealer,
};
use ctr::cipher::{KeyIvInit, StreamCipher};
use rsa::pkcs8::EncodePrivateKey;

use crate::cli::SpeedArgs;
use crate::error::{CliError, CliResult};
use crate::stdout;

/// One measured figure.
struct Figure {
    name: String,
    unit: &'static str,
    value: f64,
}

/// Runs `op` repeatedly for at least `time` and returns the number of runs per second.
fn rate(time: Duration, mut op: impl FnMut()) -> f64 {
    op(); // warm-up: first-touch page faults and key schedules are not the steady state
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < time {
        op();
        runs += 1;
    }
    runs as f64 / start.elapsed().as_secs_f64()
}

fn material() -> ContentMaterial {
    ContentMaterial::new(
        ContentKey::from_bytes([0x42; 32]),
        CounterBlock::from_bytes([0; 16]),
    )
}

/// The master-key backends this build has, each loaded from the same PKCS#8 PEM.
fn backends(pem: &str) -> CliResult<Vec<(&'static str, Box<dyn MasterCipher>)>> {
    let rust = cse_core::RsaMasterCipher::from_pem(pem)
        .map_err(|e| CliError::failed(format!("loading the benchmark key: {e}")))?;
    #[allow(unused_mut)]
    let mut all: Vec<(&'static str, Box<dyn MasterCipher>)> =
        vec![("rsa (pure Rust)", Box::new(rust))];
    #[cfg(feature = "awslc")]
    all.push((
        "aws-lc-rs",
        Box::new(
            cse_awslc::AwsLcRsaMasterCipher::from_pem(pem)
                .map_err(|e| CliError::failed(format!("loading the benchmark key: {e}")))?,
        ),
    ));
    Ok(all)
}

fn measure(args: &SpeedArgs) -> CliResult<Vec<Figure>> {
    let time = Duration::from_secs_f64(args.seconds);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let len = args.buffer_kib * 1024;
    let m = material();
    let mut buf = vec![0u8; len];
    let gbps = |per_sec: f64, bytes: usize| per_sec * bytes as f64 / 1e9;
    let mut out = Vec::new();

    let raw = rate(time, || {
        let mut c =
            ctr::Ctr128BE::<Aes256>::new(m.key().as_bytes().into(), m.counter().as_bytes().into());
        c.apply_keystream(&mut buf);
    });
    out.push(Figure {
        name: "AES-256-CTR raw keystream (baseline), 1 thread".into(),
        unit: "GB/s",
        value: gbps(raw, len),
    });
    let seal = rate(time, || {
        let mut s = Sealer::new(&m);
        let _ = s.update_in_place(&mut buf);
    });
    out.push(Figure {
        name: "seal, 1 thread".into(),
        unit: "GB/s",
        value: gbps(seal, len),
    });
    let open = rate(time, || {
        let mut o = Opener::with_len(&m, len as u64);
        let _ = o.update_in_place(&mut buf);
        let _ = o.finish();
    });
    out.push(Figure {
        name: "open, 1 thread".into(),
        unit: "GB/s",
        value: gbps(open, len),
    });

    // All cores: each thread seals its own part of one multipart upload, as an uploader would.
    let part = len as u64;
    let mut bufs = vec![vec![0u8; len]; threads];
    let parts_per_round = threads as u64;
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < time {
        // A fresh material per round: one material backs one multipart context.
        let up = cse_core::SealedEnvelope::from_wrapped(
            material(),
            cse_core::WRAP_ALG_KMS,
            "",
            b"-",
            b"-",
        )
        .and_then(|sealed| MultipartContext::new(sealed, part, part * parts_per_round))
        .map_err(|e| CliError::failed(format!("speed: {e}")))?;
        std::thread::scope(|s| {
            for (part, b) in (1u32..).zip(bufs.iter_mut()) {
                let up = &up;
                s.spawn(move || {
                    if let Ok(mut sealer) = up.part_sealer(part) {
                        let _ = sealer.update_in_place(b);
                    }
                });
            }
        });
        rounds += 1;
    }
    let all = rounds as f64 * (len * threads) as f64 / start.elapsed().as_secs_f64() / 1e9;
    out.push(Figure {
        name: format!("seal, multipart on {threads} threads"),
        unit: "GB/s",
        value: all,
    });

    // All cores: each thread opens its own byte range of one object, as a parallel ranged
    // download would; every thread decrypts `len` bytes per round.
    let object_len = (len * threads) as u64;
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < time {
        std::thread::scope(|s| {
            for (first, b) in (0u64..).step_by(len).zip(bufs.iter_mut()) {
                let m = &m;
                s.spawn(move || {
                    let range = cse_core::ByteRange::Bounded {
                        first,
                        last: first + b.len() as u64 - 1,
                    };
                    let body = cse_core::plan_range(range, Some(object_len))
                        .and_then(|plan| plan.on_stored(object_len));
                    if let Ok(body) = body {
                        let _ = body.opener(m).update_in_place(b);
                    }
                });
            }
        });
        rounds += 1;
    }
    let all = rounds as f64 * (len * threads) as f64 / start.elapsed().as_secs_f64() / 1e9;
    out.push(Figure {
        name: format!("open, ranged on {threads} threads"),
        unit: "GB/s",
        value: all,
    });

    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let key = rsa::PrivateKey::new(&mut rng, 2048)
        .map_err(|e| CliError::failed(format!("speed: generating a key: {e}")))?;
    let pem = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| CliError::failed(format!("speed: encoding a key: {e}")))?;
    let backends = backends(&pem)?;
    let sealed = Envelope::seal(&m, backends[0].1.as_ref(), &mut rng)
        .map_err(|e| CliError::failed(format!("speed: {e}")))?;
    for (name, cipher) in &backends {
        let opens = rate(time, || {
            let _ = sealed.open(cipher.as_ref(), &mut rng);
        });
        out.push(Figure {
            name: format!("envelope open (2 x RSA-2048 unwrap), {name}"),
            unit: "opens/s",
            value: opens,
        });
    }
    Ok(out)
}

/// Runs `cse speed`.
pub fn run(args: &SpeedArgs) -> CliResult<()> {
    if !(args.seconds > 0.0 && args.seconds <= 60.0) {
        return Err(CliError::usage(
            "--seconds must be greater than 0 and at most 60",
        ));
    }
    if args.buffer_kib == 0 || args.buffer_kib > 1024 * 1024 {
        return Err(CliError::usage(
            "--buffer-kib must be between 1 and 1048576",
        ));
    }
    let figures = measure(args)?;
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = figures
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    serde_json::json!({ "value": f.value, "unit": f.unit }),
                )
            })
            .collect();
        let doc = serde_json::json!({ "buffer_bytes": args.buffer_kib * 1024, "seconds_per_figure": args.seconds, "figures": map });
        stdout::write_line(format_args!("{doc:#}"))?;
    } else {
        stdout::write_line(format_args!(
            "cse speed: {} KiB buffers, {} s per figure",
            args.buffer_kib, args.seconds
        ))?;
        for f in &figures {
            stdout::write_line(format_args!(
                "  {:<58} {:>10.2} {}",
                f.name, f.value, f.unit
            ))?;
        }
        if let (Some(raw), Some(seal)) = (figures.first(), figures.get(1)) {
            stdout::write_line(format_args!(
                "  seal / raw keystream: {:.1}%",
                100.0 * seal.value / raw.value
            ))?;
        }
    }
    Ok(())
}
