//! The result of a run: per operation type ops, ops/s, MiB/s and MB/s, latency percentiles and errors by
//! kind, plus the client's own CPU use. Rendered as a warp-like text table, or serialized as JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::cpu::CpuReport;
use crate::error::ErrorKind;
use crate::stats::{summarize, LatencySummary, OpKind, OpStats, Recorder};
use crate::units::{format_bytes, format_duration, format_latency_ms};

const MIB: f64 = 1024.0 * 1024.0;
const MB: f64 = 1_000_000.0;

/// The configuration a run had, repeated in its report.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    pub endpoint: String,
    pub bucket: String,
    pub prefix: String,
    pub op: String,
    pub object_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    pub concurrency: u32,
    /// Objects prepared before the measured phase (GET, mixed, LIST).
    pub working_set: u64,
    /// The cap on operations, if any.
    pub max_ops: Option<u64>,
    /// The cap on the measured phase's time, if any.
    pub duration_s: Option<f64>,
}

/// The prepare phase (not counted in the results).
#[derive(Debug, Clone, Serialize)]
pub struct PrepareReport {
    pub objects: u64,
    pub seconds: f64,
}

/// One error kind of one operation type.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub count: u64,
    /// The detail of the first occurrence (S3 `<Message>` or transport error).
    pub sample: String,
}

/// The results of one operation type.
#[derive(Debug, Clone, Serialize)]
pub struct OpReport {
    pub op: OpKind,
    pub ops: u64,
    pub errors: u64,
    pub bytes: u64,
    pub ops_per_sec: f64,
    pub mib_per_sec: f64,
    pub mb_per_sec: f64,
    /// Keys listed (LIST only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys_per_sec: Option<f64>,
    /// Latency of successful requests, to the last byte of the answer.
    pub latency: Option<LatencySummary>,
    /// Time to the answer's headers (GET only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttfb: Option<LatencySummary>,
    pub error_kinds: Vec<ErrorReport>,
}

impl OpReport {
    pub fn new(op: OpKind, stats: &OpStats, elapsed: Duration) -> OpReport {
        let secs = elapsed.as_secs_f64();
        let per_sec = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };
        let error_kinds = stats
            .errors
            .iter()
            .map(|(kind, e)| {
                let (status, code) = match kind {
                    ErrorKind::Http { status, code } => (Some(*status), code.clone()),
                    _ => (None, None),
                };
                ErrorReport {
                    kind: kind.to_string(),
                    status,
                    code,
                    count: e.count,
                    sample: e.sample.clone(),
                }
            })
            .collect();
        let is_list = op == OpKind::List;
        OpReport {
            op,
            ops: stats.ok,
            errors: stats.error_count(),
            bytes: stats.bytes,
            ops_per_sec: per_sec(stats.ok as f64),
            mib_per_sec: per_sec(stats.bytes as f64) / MIB,
            mb_per_sec: per_sec(stats.bytes as f64) / MB,
            keys: is_list.then_some(stats.items),
            keys_per_sec: is_list.then(|| per_sec(stats.items as f64)),
            latency: summarize(&stats.latency),
            ttfb: stats.ttfb.as_ref().and_then(summarize),
            error_kinds,
        }
    }
}

/// All operation types together (multipart parts are not added twice).
#[derive(Debug, Clone, Serialize)]
pub struct TotalReport {
    pub ops: u64,
    pub errors: u64,
    pub bytes: u64,
    pub ops_per_sec: f64,
    pub mib_per_sec: f64,
    pub mb_per_sec: f64,
}

/// The whole result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub config: RunConfig,
    pub prepare: Option<PrepareReport>,
    pub elapsed_s: f64,
    pub ops: Vec<OpReport>,
    pub total: TotalReport,
    /// The load generator's own CPU use during the measured phase.
    pub cpu: Option<CpuReport>,
}

impl BenchReport {
    pub fn new(
        config: RunConfig,
        prepare: Option<PrepareReport>,
        stats: &Recorder,
        elapsed: Duration,
        cpu: Option<CpuReport>,
    ) -> BenchReport {
        let ops: Vec<OpReport> = stats
            .ops
            .iter()
            .filter(|(_, s)| s.ok > 0 || s.error_count() > 0)
            .map(|(op, s)| OpReport::new(*op, s, elapsed))
            .collect();
        let secs = elapsed.as_secs_f64();
        let per_sec = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };
        let counted = ops.iter().filter(|o| o.op != OpKind::Part);
        let (n, errors, bytes) = counted.fold((0, 0, 0), |(n, e, b), o| (n + o.ops, e + o.errors, b + o.bytes));
        BenchReport {
            config,
            prepare,
            elapsed_s: secs,
            total: TotalReport {
                ops: n,
                errors,
                bytes,
                ops_per_sec: per_sec(n as f64),
                mib_per_sec: per_sec(bytes as f64) / MIB,
                mb_per_sec: per_sec(bytes as f64) / MB,
            },
            ops,
            cpu,
        }
    }

    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }

    /// The human report.
    pub fn to_text(&self) -> String {
        let c = &self.config;
        let mut out = String::new();
        let part = c
            .part_size
            .map(|p| format!(" in {} parts", format_bytes(p)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "meridian bench: {} of {} objects{part}, {} concurrent, {} bucket {} prefix {}/",
            c.op,
            format_bytes(c.object_size),
            c.concurrency,
            c.endpoint,
            c.bucket,
            c.prefix
        );
        if let Some(p) = &self.prepare {
            let _ = writeln!(
                out,
                "prepare: {} objects in {} (not counted)",
                p.objects,
                format_duration(Duration::from_secs_f64(p.seconds))
            );
        }
        let _ = writeln!(
            out,
            "measured: {}\n",
            format_duration(Duration::from_secs_f64(self.elapsed_s))
        );
        let _ = writeln!(
            out,
            "{:<10} {:>9} {:>10} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}",
            "op", "ops", "ops/s", "MiB/s", "MB/s", "p50", "p90", "p99", "max", "errors"
        );
        let lat = |l: &Option<LatencySummary>, f: fn(&LatencySummary) -> f64| {
            l.as_ref()
                .map(|l| format_latency_ms(f(l)))
                .unwrap_or_else(|| "-".to_string())
        };
        for o in &self.ops {
            let _ = writeln!(
                out,
                "{:<10} {:>9} {:>10.1} {:>9.2} {:>9.2} {:>8} {:>8} {:>8} {:>8} {:>7}",
                o.op.name(),
                o.ops,
                o.ops_per_sec,
                o.mib_per_sec,
                o.mb_per_sec,
                lat(&o.latency, |l| l.p50_ms),
                lat(&o.latency, |l| l.p90_ms),
                lat(&o.latency, |l| l.p99_ms),
                lat(&o.latency, |l| l.max_ms),
                o.errors
            );
        }
        if self.ops.iter().filter(|o| o.op != OpKind::Part).count() > 1 {
            let t = &self.total;
            let _ = writeln!(
                out,
                "{:<10} {:>9} {:>10.1} {:>9.2} {:>9.2} {:>8} {:>8} {:>8} {:>8} {:>7}",
                "total", t.ops, t.ops_per_sec, t.mib_per_sec, t.mb_per_sec, "", "", "", "", t.errors
            );
        }
        for o in &self.ops {
            if let Some(t) = &o.ttfb {
                let _ = writeln!(
                    out,
                    "{} time to first byte: p50 {} p90 {} p99 {} max {}",
                    o.op.name(),
                    format_latency_ms(t.p50_ms),
                    format_latency_ms(t.p90_ms),
                    format_latency_ms(t.p99_ms),
                    format_latency_ms(t.max_ms)
                );
            }
            if let (Some(keys), Some(rate)) = (o.keys, o.keys_per_sec) {
                let _ = writeln!(out, "{}: {keys} keys listed, {rate:.0} keys/s", o.op.name());
            }
        }
        let errors: Vec<_> = self
            .ops
            .iter()
            .flat_map(|o| o.error_kinds.iter().map(move |e| (o.op, e)))
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(out, "\nerrors:");
            for (op, e) in errors {
                let _ = writeln!(
                    out,
                    "  {:<10} {:<32} {:>8}  first: {}",
                    op.name(),
                    e.kind,
                    e.count,
                    e.sample
                );
            }
        }
        if let Some(cpu) = &self.cpu {
            let _ = writeln!(
                out,
                "\nclient CPU: {:.2}s (user {:.2}s + sys {:.2}s) over {} = {:.0}% of one core ({} cores here)",
                cpu.total_s,
                cpu.user_s,
                cpu.system_s,
                format_duration(Duration::from_secs_f64(self.elapsed_s)),
                cpu.percent_of_one_core,
                cpu.cores
            );
        }
        out
    }
}

/// Prints a report: the text on stdout, or with `json` the JSON on stdout and the text on stderr (so a
/// script piping the JSON still shows a person the summary).
#[allow(clippy::print_stdout, reason = "the report is `meridian bench`'s output")]
pub(crate) fn print(
    json: bool,
    text: &str,
    to_json: impl FnOnce() -> serde_json::Result<String>,
) -> anyhow::Result<()> {
    if json {
        eprint!("{text}");
        println!("{}", to_json()?);
    } else {
        print!("{text}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuTimes;
    use crate::error::RequestError;
    use crate::stats::Live;
    use std::sync::Arc;

    fn config() -> RunConfig {
        RunConfig {
            endpoint: "http://127.0.0.1:7480".into(),
            bucket: "b".into(),
            prefix: "bench-1".into(),
            op: "get".into(),
            object_size: 1 << 20,
            part_size: None,
            concurrency: 4,
            working_set: 10,
            max_ops: Some(100),
            duration_s: None,
        }
    }

    #[test]
    fn rates_and_json_shape() {
        let mut rec = Recorder::new(&[OpKind::Get], Arc::new(Live::default())).unwrap();
        for _ in 0..100 {
            rec.ok(OpKind::Get, Duration::from_millis(4), 1 << 20, Duration::from_millis(1));
        }
        rec.err(OpKind::Get, &RequestError::from_response(503, b""));
        let cpu = CpuReport::new(
            CpuTimes {
                user: Duration::from_millis(300),
                system: Duration::from_millis(200),
            },
            Duration::from_secs(2),
            2,
        );
        let report = BenchReport::new(config(), None, &rec, Duration::from_secs(2), Some(cpu));
        assert_eq!(report.ops.len(), 1);
        let get = &report.ops[0];
        assert_eq!(get.ops, 100);
        assert_eq!(get.errors, 1);
        assert!((get.ops_per_sec - 50.0).abs() < 1e-9);
        assert!((get.mib_per_sec - 50.0).abs() < 1e-9);
        assert!((get.mb_per_sec - 52.428_8).abs() < 1e-9);
        assert_eq!(report.total.ops, 100);

        let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
        assert_eq!(json["ops"][0]["op"], "GET");
        assert_eq!(json["ops"][0]["ops"], 100);
        assert_eq!(json["ops"][0]["error_kinds"][0]["kind"], "HTTP 503");
        assert_eq!(json["ops"][0]["error_kinds"][0]["status"], 503);
        let p50 = json["ops"][0]["latency"]["p50_ms"].as_f64().unwrap();
        assert!((p50 - 4.0).abs() < 0.01, "{p50}");
        assert!(json["ops"][0]["ttfb"]["p99_ms"].as_f64().unwrap() < 1.01);
        assert_eq!(json["cpu"]["percent_of_one_core"], 25.0);

        let text = report.to_text();
        assert!(text.contains("GET"), "{text}");
        assert!(text.contains("HTTP 503"), "{text}");
        assert!(text.contains("25% of one core"), "{text}");
    }

    #[test]
    fn parts_are_not_counted_twice_in_the_total() {
        let mut rec = Recorder::new(&[OpKind::Multipart, OpKind::Part], Arc::new(Live::default())).unwrap();
        rec.ok(OpKind::Multipart, Duration::from_secs(1), 64 << 20, Duration::ZERO);
        for _ in 0..4 {
            rec.ok(OpKind::Part, Duration::from_millis(200), 16 << 20, Duration::ZERO);
        }
        let report = BenchReport::new(config(), None, &rec, Duration::from_secs(1), None);
        assert_eq!(report.total.ops, 1);
        assert_eq!(report.total.bytes, 64 << 20);
        assert!((report.total.mib_per_sec - 64.0).abs() < 1e-9);
    }
}
