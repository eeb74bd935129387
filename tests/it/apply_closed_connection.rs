//! A Kusto endpoint that closes its socket in the middle of a large script upload is an error
//! apply reports (the script's outcome is unknown), never a silent kill by SIGPIPE after changes
//! were made. A loopback proxy in front of the sandbox server forwards the reads and closes the
//! connection as soon as it sees the large script request.

use crate::common;

use std::fmt::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::sandbox::{KustoServer, stack_head};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Requests with a body larger than this are cut (the observe reads are far smaller).
const CUT_ABOVE: usize = 100_000;

fn content_length(head: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = text.find("content-length:")?;
    text[at + "content-length:".len()..]
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Forwards one client connection to `upstream`; on a large request, closes the client's socket
/// (FIN, then RST once unread data is discarded) without forwarding it.
async fn forward(mut client: TcpStream, upstream: std::net::SocketAddr) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut server_read, mut server_write) = server.into_split();
    let (mut client_read, mut client_write) = client.split();
    let to_client = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    let to_server = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => n,
            };
            if content_length(&buf[..n]).is_some_and(|len| len > CUT_ABOVE) {
                return false;
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                return true;
            }
        }
    };
    let cut = tokio::select! {
        () = to_client => true,
        keep = to_server => !keep,
    };
    if cut {
        let _ = client.shutdown().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn big_stack(dir: &std::path::Path, url: &str) {
    let mut yaml = stack_head("big", url, "{method: none}", "", "gamedb");
    for t in 0..400 {
        let _ = write!(
            yaml,
            "---\nkind: Table\nname: Events{t:04}\ndatabase: gamedb\ncolumns:\n"
        );
        for c in 0..40 {
            let _ = writeln!(
                yaml,
                "  - {{name: a_rather_long_column_name_for_a_big_upload_{c:03}, type: string}}"
            );
        }
    }
    std::fs::write(dir.join("stack.yaml"), yaml).expect("write stack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_closed_during_the_script_upload_is_reported_not_a_sigpipe_kill() {
    let server = KustoServer::start(&["gamedb"]).await;
    let upstream: std::net::SocketAddr = server
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("sandbox address");
    // A small receive window makes the client block mid-upload, so it is still writing when
    // the socket is closed (as with a real server far away).
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind proxy");
    let proxy: TcpListener = socket.listen(16).expect("listen");
    let proxy_url = format!("http://{}", proxy.local_addr().expect("proxy address"));
    tokio::spawn(async move {
        while let Ok((client, _)) = proxy.accept().await {
            tokio::spawn(forward(client, upstream));
        }
    });

    let stack = tempfile::tempdir().expect("tempdir");
    big_stack(stack.path(), &proxy_url);
    let local = tempfile::tempdir().expect("tempdir");
    let stack_dir = stack.path().to_path_buf();
    let local_dir = local.path().to_path_buf();
    let mut cmd = common::cli::command();
    cmd.args([
        "apply",
        stack_dir.to_str().expect("utf-8"),
        "--auto-approve",
    ])
    .env("KUSTOPLAN_SANDBOX_DIR", &local_dir)
    .env("NO_COLOR", "1");
    let out = common::cli::output_off_runtime(cmd).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        None,
        "killed by a signal:\n{stdout}\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(" kusto.gamedb.table.Events0000"),
        "the per-step report is printed: {stdout}"
    );
    assert!(stderr.contains("error: apply stopped: "), "{stderr}");
}
