//! Scale benchmark (issues 7, 18, 19): plan, apply and import at 100, 1,000 and 10,000 tables
//! against the Kusto and Connect sandbox servers with added latency per request, measuring
//! requests (counted by the sandboxes), wall time, CPU time and peak memory of the kustoplan
//! process, and comparing with a per-object read strategy (each object's kinds of state read one
//! request at a time, ten in flight, as Terraform-style providers do).
//!
//! Every generated table has columns, a JSON mapping, a batching policy, retention and caching;
//! every hundredth table also gets a function, an update policy and a materialized view over it,
//! so the observe request count shows whether those kinds cost a request per object. Routes
//! (one topic each, ten routes per Kusto sink connector) go to the first tables.
//!
//! Run: `cargo bench --bench scale -- [--sizes 100,1000,10000] [--routes-per-10-tables 1] [--databases 1] [--latency-ms 50] [--markdown] [--no-per-object]`
//!
//! `--keep` leaves each size's stack, sandbox state and Kafka sandbox state on disk (their paths
//! are printed) for profiling a step by hand against `kustoplan sandbox serve --dir STATE`.
//!
//! `--databases N` spreads each size's tables evenly over N databases (issue 18: apply of 100
//! databases of 100 tables against one database of 10,000). `--routes-per-10-tables R` sets how
//! many routes there are per ten tables (default 1: 1,000 routes at 10,000 tables; 0 for none).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Args {
    sizes: Vec<usize>,
    databases: usize,
    routes_per_10_tables: usize,
    per_object: bool,
    latency_ms: u64,
    markdown: bool,
    keep: bool,
}

fn args() -> Args {
    let mut a = Args {
        sizes: vec![100, 1000, 10_000],
        databases: 1,
        routes_per_10_tables: 1,
        per_object: true,
        latency_ms: 50,
        markdown: false,
        keep: false,
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
            "--routes-per-10-tables" => {
                a.routes_per_10_tables = it.next().and_then(|n| n.parse().ok()).unwrap_or(1)
            }
            "--latency-ms" => a.latency_ms = it.next().and_then(|n| n.parse().ok()).unwrap_or(50),
            "--markdown" => a.markdown = true,
            "--no-per-object" => a.per_object = false,
            "--keep" => a.keep = true,
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
    // Kept aside and shown when the step fails: a step that exits early (a manifest refused,
    // a server unreachable) is otherwise only a short time and an exit code in the table.
    let mut stderr = tempfile::tempfile().expect("stderr file");
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(stderr.try_clone().expect("stderr file"))
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
    let usage = Usage {
        wall: start.elapsed(),
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        peak_kb: usage.ru_maxrss,
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
    };
    if usage.code != 0 {
        print_first_lines(&mut stderr, cmd);
    }
    usage
}

/// The first lines of a failed step's stderr, on the bench's stderr.
fn print_first_lines(stderr: &mut std::fs::File, cmd: &Command) {
    use std::io::{Read, Seek};
    let mut text = String::new();
    let read = stderr
        .seek(std::io::SeekFrom::Start(0))
        .and_then(|_| stderr.read_to_string(&mut text));
    eprintln!("{cmd:?} failed; the first lines of its stderr:");
    match read {
        Ok(_) => text.lines().take(20).for_each(|line| eprintln!("  {line}")),
        Err(e) => eprintln!("  (cannot read them: {e})"),
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

/// Every hundredth table also gets a function, an update policy and a materialized view.
const EXTRAS_EVERY: usize = 100;

/// How many routes one generated Kusto sink connector carries.
const ROUTES_PER_SINK: usize = 10;

/// Tables per generated file: a manifest file holds at most 5 million YAML nodes (about 100,000
/// of these tables), so larger stacks are split as a team would split them.
const TABLES_PER_FILE: usize = 10_000;

/// Writes the benchmark stack: `stack.yaml` (targets and databases), `tables.yaml` (then
/// `tables-1.yaml`, ... for every further [`TABLES_PER_FILE`] tables), `kusto_extras.yaml`
/// (functions and materialized views), and with routes `kafka.yaml` (topics) and `sinks.yaml`
/// (connectors).
fn generate(dir: &Path, urls: &Urls, tables: usize, routes: usize, databases: &[String]) {
    let mut stack = std::fs::File::create(dir.join("stack.yaml")).expect("stack file");
    writeln!(
        stack,
        "kind: Stack\nname: bench\ntargets:\n  kusto:\n    cluster: {}\n  kafka:\n    bootstrap_servers: sandbox\n  connect:\n    main:\n      url: {}",
        urls.kusto, urls.connect
    )
    .expect("write");
    for db in databases {
        writeln!(
            stack,
            "---\nkind: Database\nname: {db}\nretention: {{soft_delete: 365d}}\ncaching: {{hot: 31d}}\nprincipals:\n  admins:\n    - {{app: 00000000-0000-0000-0000-000000000001, tenant: 00000000-0000-0000-0000-000000000002, notes: ops}}\n  ingestors:\n    - {{app: 00000000-0000-0000-0000-000000000003, tenant: 00000000-0000-0000-0000-000000000002, notes: sink}}\n  viewers:\n    - {{group: analysts@example.com}}"
        )
        .expect("write");
    }
    let database = |i: usize| &databases[i % databases.len()];
    let tables_file = |n: usize| {
        let name = match n {
            0 => "tables.yaml".to_string(),
            n => format!("tables-{n}.yaml"),
        };
        std::io::BufWriter::new(std::fs::File::create(dir.join(name)).expect("tables file"))
    };
    let mut out = tables_file(0);
    for i in 0..tables {
        if i > 0 && i % TABLES_PER_FILE == 0 {
            out.flush().expect("write");
            out = tables_file(i / TABLES_PER_FILE);
        }
        writeln!(
            out,
            "---\nkind: Table\nname: Events{i}\ndatabase: {}\nfolder: f{}\ncolumns: [{{name: Id, type: long}}, {{name: Device, type: guid}}, {{name: Value, type: real}}, {{name: At, type: datetime}}, {{name: Props, type: dynamic}}]\nmappings:\n  - name: events{i}_json\n    kind: json\n    columns: [{{column: Id, path: $.id}}, {{column: Device, path: $.device}}, {{column: Value, path: $.value}}, {{column: At, path: $.at}}, {{column: Props, path: $.props}}]\ningestion_batching: {{max_time: 30s, max_items: 100, max_raw_size_mb: 256}}\nretention: {{soft_delete: 90d}}\ncaching: {{hot: 7d}}",
            database(i),
            i % 20
        )
        .expect("write");
        // The table after an extras table (same database when there is one) feeds its update
        // policy; it has no policy itself, so there is no cycle.
        let source = i + databases.len();
        if i % EXTRAS_EVERY == 0 && source < tables {
            writeln!(
                out,
                "update_policies:\n  - source: Events{source}\n    query: Events{source} | project Id, Device, Value, At, Props\n    transactional: false"
            )
            .expect("write");
        }
    }
    let mut extras = std::io::BufWriter::new(
        std::fs::File::create(dir.join("kusto_extras.yaml")).expect("extras file"),
    );
    for i in (0..tables).step_by(EXTRAS_EVERY) {
        writeln!(
            extras,
            "---\nkind: Function\nname: Recent{i}\ndatabase: {db}\nfolder: f{}\nparameters:\n  - {{name: since, type: timespan}}\nbody: |\n  Events{i}\n  | where At > ago(since)\n---\nkind: MaterializedView\nname: Latest{i}\ndatabase: {db}\nsource: Events{i}\nquery: |\n  Events{i}\n  | summarize arg_max(At, *) by Device",
            i % 20,
            db = database(i)
        )
        .expect("write");
    }
    if routes == 0 {
        return;
    }
    let mut topics =
        std::io::BufWriter::new(std::fs::File::create(dir.join("kafka.yaml")).expect("kafka file"));
    for r in 0..routes {
        writeln!(topics, "---\nkind: Topic\nname: events{r}\npartitions: 1").expect("write");
    }
    let mut sinks =
        std::io::BufWriter::new(std::fs::File::create(dir.join("sinks.yaml")).expect("sinks file"));
    for first in (0..routes).step_by(ROUTES_PER_SINK) {
        writeln!(
            sinks,
            "---\nkind: Sink\nname: sink{first}\nconnect: main\ntasks_max: 1\nauth:\n  strategy: application\n  app_id: 00000000-0000-0000-0000-000000000003\n  tenant_id: 00000000-0000-0000-0000-000000000002\n  app_key: ${{file:/opt/secrets/kusto.properties:appkey}}\nroutes:"
        )
        .expect("write");
        for r in first..(first + ROUTES_PER_SINK).min(routes) {
            writeln!(
                sinks,
                "  - {{topic: events{r}, database: {}, table: Events{r}, format: json, mapping: events{r}_json}}",
                database(r)
            )
            .expect("write");
        }
    }
}

/// Where the sandbox servers listen.
struct Urls {
    kusto: String,
    connect: String,
}

struct Sandbox {
    child: Child,
    urls: Urls,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kustoplan sandbox serve` with the Connect stand-in, and reads both URLs from its
/// banner lines.
fn start_sandbox(dir: &Path, databases: &[String]) -> Sandbox {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kustoplan"))
        .args(["sandbox", "serve", "--listen", "127.0.0.1:0"])
        .args(["--connect-listen", "127.0.0.1:0"])
        .args(databases.iter().flat_map(|db| ["--database", db.as_str()]))
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sandbox");
    let mut banner = BufReader::new(child.stdout.take().expect("stdout"));
    let mut url_after = |prefix: &str| {
        let mut line = String::new();
        banner.read_line(&mut line).expect("banner");
        line.strip_prefix(prefix)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no URL in sandbox banner line {line:?}"))
            .to_string()
    };
    let kusto = url_after("kusto sandbox listening on ");
    let connect = url_after("connect sandbox listening on ");
    Sandbox {
        child,
        urls: Urls { kusto, connect },
    }
}

fn http(rt: &tokio::runtime::Runtime) -> reqwest::Client {
    let _guard = rt.enter();
    reqwest::Client::new()
}

/// Requests the sandboxes counted so far: Kusto management requests and Connect REST requests.
fn requests(rt: &tokio::runtime::Runtime, client: &reqwest::Client, urls: &Urls) -> (u64, u64) {
    rt.block_on(async {
        let stats = |url: String| async move {
            let stats: serde_json::Value = client
                .get(format!("{url}/sandbox/stats"))
                .send()
                .await
                .expect("stats")
                .json()
                .await
                .expect("stats json");
            stats
        };
        let kusto = stats(urls.kusto.clone()).await["mgmt"]
            .as_u64()
            .unwrap_or(0);
        let connect = stats(urls.connect.clone()).await["total"]
            .as_u64()
            .unwrap_or(0);
        (kusto, connect)
    })
}

fn set_latency(rt: &tokio::runtime::Runtime, client: &reqwest::Client, urls: &Urls, ms: u64) {
    rt.block_on(async {
        for url in [&urls.kusto, &urls.connect] {
            client
                .post(format!("{url}/sandbox/faults"))
                .json(&serde_json::json!({"latency_ms": ms}))
                .send()
                .await
                .expect("faults");
        }
    });
}

/// One read of one object's state, as a per-object provider sends it.
enum Read {
    Kusto { db: String, csl: String },
    Connect { path: String },
}

/// What a per-object provider does to refresh its state: every kind of state of every object
/// read with its own request (a table's mappings, batching, retention and caching policies; a
/// connector's config and status), ten in flight, each answer parsed as JSON. Returns the
/// wall time and the number of requests sent.
fn per_object_refresh(
    rt: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    urls: &Urls,
    tables: usize,
    sinks: usize,
    databases: &[String],
) -> (Duration, u64) {
    let mut reads = Vec::new();
    for i in 0..tables {
        let db = &databases[i % databases.len()];
        for what in [
            "ingestion mappings",
            "policy ingestionbatching",
            "policy retention",
            "policy caching",
        ] {
            reads.push(Read::Kusto {
                db: db.clone(),
                csl: format!(".show table Events{i} {what}"),
            });
        }
    }
    for s in 0..sinks {
        let name = format!("sink{}", s * ROUTES_PER_SINK);
        reads.push(Read::Connect {
            path: format!("/connectors/{name}/config"),
        });
        reads.push(Read::Connect {
            path: format!("/connectors/{name}/status"),
        });
    }
    let count = reads.len() as u64;
    let start = Instant::now();
    rt.block_on(async {
        let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(10));
        let mut handles = Vec::new();
        for read in reads {
            let (client, semaphore) = (client.clone(), semaphore.clone());
            let request = match read {
                Read::Kusto { db, csl } => client
                    .post(format!("{}/v1/rest/mgmt", urls.kusto))
                    .json(&serde_json::json!({"db": db, "csl": csl})),
                Read::Connect { path } => client.get(format!("{}{path}", urls.connect)),
            };
            handles.push(tokio::spawn(async move {
                let _permit = semaphore.acquire().await.expect("permit");
                let answer: serde_json::Value = request
                    .send()
                    .await
                    .expect("request")
                    .json()
                    .await
                    .expect("JSON answer");
                answer
            }));
        }
        for h in handles {
            h.await.expect("join");
        }
    });
    (start.elapsed(), count)
}

/// One measured step of one size.
struct Row {
    tables: usize,
    routes: usize,
    step: String,
    kusto_requests: u64,
    connect_requests: u64,
    usage: Usage,
}

fn main() {
    let args = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = http(&rt);
    let mut rows: Vec<Row> = Vec::new();
    for &tables in &args.sizes {
        let routes = tables * args.routes_per_10_tables / 10;
        let state = tempfile::tempdir().expect("tempdir");
        let kafka_state = tempfile::tempdir().expect("tempdir");
        let stack = tempfile::tempdir().expect("tempdir");
        let imported = tempfile::tempdir().expect("tempdir");
        if args.keep {
            eprintln!(
                "keeping stack {}, sandbox state {}, Kafka sandbox state {}",
                stack.path().display(),
                state.path().display(),
                kafka_state.path().display()
            );
        }
        let databases = database_names(args.databases);
        let sandbox = start_sandbox(state.path(), &databases);
        generate(stack.path(), &sandbox.urls, tables, routes, &databases);
        set_latency(&rt, &client, &sandbox.urls, args.latency_ms);
        let kustoplan = |extra: &[&str], path: &Path| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_kustoplan"));
            c.args(extra)
                .arg(path)
                .env("KUSTOPLAN_SANDBOX_DIR", kafka_state.path());
            c
        };
        let mut measure = |step: &str, cmd: &mut Command| {
            let (kusto_before, connect_before) = requests(&rt, &client, &sandbox.urls);
            let usage = run_measured(cmd);
            let (kusto_after, connect_after) = requests(&rt, &client, &sandbox.urls);
            rows.push(Row {
                tables,
                routes,
                step: step.to_string(),
                kusto_requests: kusto_after - kusto_before,
                connect_requests: connect_after - connect_before,
                usage,
            });
        };
        measure("plan (from empty)", &mut kustoplan(&["plan"], stack.path()));
        measure(
            "apply (from empty)",
            &mut kustoplan(&["apply", "--auto-approve"], stack.path()),
        );
        measure(
            "plan (no changes)",
            &mut kustoplan(&["plan", "--detailed-exitcode"], stack.path()),
        );
        let out = imported.path().to_string_lossy().into_owned();
        measure(
            "import",
            &mut kustoplan(&["import", "--out", &out], &stack.path().join("stack.yaml")),
        );
        if args.keep {
            for dir in [state, kafka_state, stack] {
                let _ = dir.keep();
            }
        }
        if !args.per_object {
            continue;
        }
        let sinks = routes.div_ceil(ROUTES_PER_SINK);
        let (wall, count) =
            per_object_refresh(&rt, &client, &sandbox.urls, tables, sinks, &databases);
        let plan_wall = rows
            .iter()
            .rev()
            .find(|r| r.step == "plan (no changes)")
            .map_or(Duration::ZERO, |r| r.usage.wall);
        rows.push(Row {
            tables,
            routes,
            step: format!(
                "per-object refresh (one request per kind of state, 10 in flight): {:.1}x the no-change plan",
                wall.as_secs_f64() / plan_wall.as_secs_f64()
            ),
            kusto_requests: count - 2 * sinks as u64,
            connect_requests: 2 * sinks as u64,
            usage: Usage {
                wall,
                cpu: Duration::ZERO,
                peak_kb: 0,
                code: 0,
            },
        });
    }
    let header = format!(
        "latency {} ms per request, tables spread over {} database(s)",
        args.latency_ms, args.databases
    );
    if args.markdown {
        println!(
            "| tables | routes | step | Kusto requests | Connect requests | wall | CPU | peak memory | exit |\n|---:|---:|---|---:|---:|---:|---:|---:|---:|"
        );
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {} | {:.2} s | {:.2} s | {} | {} |",
                r.tables,
                r.routes,
                r.step,
                r.kusto_requests,
                r.connect_requests,
                r.usage.wall.as_secs_f64(),
                r.usage.cpu.as_secs_f64(),
                if r.usage.peak_kb > 0 {
                    format!("{:.0} MB", r.usage.peak_kb as f64 / 1024.0)
                } else {
                    "-".into()
                },
                r.usage.code
            );
        }
        println!("\n({header})");
    } else {
        println!("{header}");
        for r in &rows {
            println!(
                "{:>6} tables {:>5} routes  {:<60} {:>6} kusto {:>5} connect  wall {:>7.2}s  cpu {:>6.2}s  peak {:>7} KB  exit {}",
                r.tables,
                r.routes,
                r.step,
                r.kusto_requests,
                r.connect_requests,
                r.usage.wall.as_secs_f64(),
                r.usage.cpu.as_secs_f64(),
                r.usage.peak_kb,
                r.usage.code
            );
        }
    }
}
