//! Scale benchmark (issue 7): plan and apply at 100, 1,000 and 10,000 tables against the Kusto
//! sandbox server with added latency per request, measuring requests, wall time, CPU time and
//! peak memory of the kustoplan process, and comparing with a per-object read strategy (two
//! requests per table, ten in flight, as Terraform-style providers do).
//!
//! Run: `cargo bench --bench scale -- [--sizes 100,1000,10000] [--databases 1] [--latency-ms 50] [--markdown] [--no-per-object]`
//!
//! `--databases N` spreads each size's tables evenly over N databases (issue 18: apply of 100
//! databases of 100 tables against one database of 10,000).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    sizes: Vec<usize>,
    databases: usize,
    per_object: bool,
    latency_ms: u64,
    markdown: bool,
}

fn args() -> Args {
    let mut a = Args {
        sizes: vec![100, 1000, 10_000],
        databases: 1,
        per_object: true,
        latency_ms: 50,
        markdown: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--sizes" => {
                a.sizes = it
                    .next()
                    .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
                    .unwrap_or_default()
            }
            "--databases" => {
                a.databases = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .unwrap_or(1)
            }
            "--latency-ms" => a.latency_ms = it.next().and_then(|n| n.parse().ok()).unwrap_or(50),
            "--markdown" => a.markdown = true,
            "--no-per-object" => a.per_object = false,
            _ => {}
        }
    }
    a
}

/// Resource use of one finished child process.
struct Usage {
    wall: Duration,
    cpu: Duration,
    peak_kb: i64,
    code: i32,
}

fn run_measured(cmd: &mut Command) -> Usage {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kustoplan");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid pointers; std's Child is forgotten so it does not wait again.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    std::mem::forget(child);
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Usage {
        wall: start.elapsed(),
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        peak_kb: usage.ru_maxrss,
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
    }
}

/// The benchmark's database names: `bench` alone, or `bench0`.. for several.
fn database_names(databases: usize) -> Vec<String> {
    if databases == 1 {
        vec!["bench".to_string()]
    } else {
        (0..databases).map(|d| format!("bench{d}")).collect()
    }
}

fn generate(dir: &Path, url: &str, tables: usize, databases: &[String]) {
    let mut stack = std::fs::File::create(dir.join("stack.yaml")).expect("stack file");
    writeln!(
        stack,
        "kind: Stack\nname: bench\ntargets:\n  kusto:\n    cluster: {url}"
    )
    .expect("write");
    for db in databases {
        writeln!(
            stack,
            "---\nkind: Database\nname: {db}\nprincipals:\n  admins:\n    - {{app: 00000000-0000-0000-0000-000000000001, tenant: 00000000-0000-0000-0000-000000000002, notes: ops}}\n  ingestors:\n    - {{app: 00000000-0000-0000-0000-000000000003, tenant: 00000000-0000-0000-0000-000000000002, notes: sink}}\n  viewers:\n    - {{group: analysts@example.com}}"
        )
        .expect("write");
    }
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(dir.join("tables.yaml")).expect("tables file"),
    );
    for i in 0..tables {
        writeln!(
            out,
            "---\nkind: Table\nname: Events{i}\ndatabase: {}\nfolder: f{}\ncolumns: [{{name: Id, type: long}}, {{name: Device, type: guid}}, {{name: Value, type: real}}, {{name: At, type: datetime}}, {{name: Props, type: dynamic}}]\nmappings:\n  - name: events{i}_json\n    kind: json\n    columns: [{{column: Id, path: $.id}}, {{column: Device, path: $.device}}, {{column: Value, path: $.value}}, {{column: At, path: $.at}}, {{column: Props, path: $.props}}]\ningestion_batching: {{max_time: 30s, max_items: 100, max_raw_size_mb: 256}}",
            databases[i % databases.len()],
            i % 20
        )
        .expect("write");
    }
}

struct Sandbox {
    child: Child,
    url: String,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sandbox(dir: &Path, databases: &[String]) -> Sandbox {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kustoplan"))
        .args(["sandbox", "serve", "--listen", "127.0.0.1:0"])
        .args(databases.iter().flat_map(|db| ["--database", db.as_str()]))
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sandbox");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("banner");
    let url = line
        .strip_prefix("kusto sandbox listening on ")
        .and_then(|r| r.split_whitespace().next())
        .expect("sandbox url")
        .to_string();
    Sandbox { child, url }
}

fn http(rt: &tokio::runtime::Runtime) -> reqwest::Client {
    let _guard = rt.enter();
    reqwest::Client::new()
}

fn mgmt_requests(rt: &tokio::runtime::Runtime, client: &reqwest::Client, url: &str) -> u64 {
    rt.block_on(async {
        let stats: serde_json::Value = client
            .get(format!("{url}/sandbox/stats"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json");
        stats["mgmt"].as_u64().unwrap_or(0)
    })
}

fn set_latency(rt: &tokio::runtime::Runtime, client: &reqwest::Client, url: &str, ms: u64) {
    rt.block_on(async {
        client
            .post(format!("{url}/sandbox/faults"))
            .json(&serde_json::json!({"latency_ms": ms}))
            .send()
            .await
            .expect("faults");
    });
}

/// Two reads per table, ten in flight: what a per-object provider does to refresh its state.
fn per_object_refresh(
    rt: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    url: &str,
    tables: usize,
) -> Duration {
    let start = Instant::now();
    rt.block_on(async {
        let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(10));
        let mut handles = Vec::new();
        for i in 0..tables {
            for csl in [
                format!(".show table Events{i} ingestion mappings"),
                format!(".show table Events{i} policy ingestionbatching"),
            ] {
                let (client, url, semaphore) = (client.clone(), url.to_string(), semaphore.clone());
                handles.push(tokio::spawn(async move {
                    let _permit = semaphore.acquire().await.expect("permit");
                    client
                        .post(format!("{url}/v1/rest/mgmt"))
                        .json(&serde_json::json!({"db": "bench", "csl": csl}))
                        .send()
                        .await
                        .expect("request")
                        .bytes()
                        .await
                        .expect("body");
                }));
            }
        }
        for h in handles {
            h.await.expect("join");
        }
    });
    start.elapsed()
}

fn main() {
    let args = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = http(&rt);
    let mut rows = Vec::new();
    for &tables in &args.sizes {
        let state = tempfile::tempdir().expect("tempdir");
        let stack = tempfile::tempdir().expect("tempdir");
        let databases = database_names(args.databases);
        let sandbox = start_sandbox(state.path(), &databases);
        generate(stack.path(), &sandbox.url, tables, &databases);
        set_latency(&rt, &client, &sandbox.url, args.latency_ms);
        let kustoplan = |extra: &[&str]| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_kustoplan"));
            c.args(extra).arg(stack.path());
            c
        };
        let mut measure = |label: &str, cmd: &mut Command| {
            let before = mgmt_requests(&rt, &client, &sandbox.url);
            let u = run_measured(cmd);
            let requests = mgmt_requests(&rt, &client, &sandbox.url) - before;
            rows.push((
                tables,
                label.to_string(),
                requests,
                u.wall,
                u.cpu,
                u.peak_kb,
                u.code,
            ));
        };
        measure("plan (from empty)", &mut kustoplan(&["plan"]));
        measure(
            "apply (from empty)",
            &mut kustoplan(&["apply", "--auto-approve"]),
        );
        measure(
            "plan (no changes)",
            &mut kustoplan(&["plan", "--detailed-exitcode"]),
        );
        if !args.per_object {
            continue;
        }
        let per_object = per_object_refresh(&rt, &client, &sandbox.url, tables);
        let plan_wall = rows.last().map_or(Duration::ZERO, |r| r.3);
        rows.push((
            tables,
            format!(
                "per-object refresh (2 requests per table, 10 in flight): {:.1}x slower",
                per_object.as_secs_f64() / plan_wall.as_secs_f64()
            ),
            (2 * tables) as u64,
            per_object,
            Duration::ZERO,
            0,
            0,
        ));
    }
    let header = format!(
        "latency {} ms per request, tables spread over {} database(s)",
        args.latency_ms, args.databases
    );
    if args.markdown {
        println!(
            "| tables | step | Kusto requests | wall | CPU | peak memory | exit |\n|---:|---|---:|---:|---:|---:|---:|"
        );
        for (t, step, req, wall, cpu, kb, code) in &rows {
            println!(
                "| {t} | {step} | {req} | {:.2} s | {:.2} s | {} | {code} |",
                wall.as_secs_f64(),
                cpu.as_secs_f64(),
                if *kb > 0 {
                    format!("{:.0} MB", *kb as f64 / 1024.0)
                } else {
                    "-".into()
                }
            );
        }
        println!("\n({header})");
    } else {
        println!("{header}");
        for (t, step, req, wall, cpu, kb, code) in &rows {
            println!(
                "{t:>6} tables  {step:<60} {req:>6} req  wall {:>7.2}s  cpu {:>6.2}s  peak {:>6} KB  exit {code}",
                wall.as_secs_f64(),
                cpu.as_secs_f64(),
                kb
            );
        }
    }
}
