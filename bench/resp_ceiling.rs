//! A RESP server with no store: the ceiling that `redis-benchmark` itself
//! allows on this machine, measured by `bench/serve.sh` beside `hoard
//! serve` and redis-server.
//!
//! It does what `hoard serve`'s connections do minus the commands: one
//! tokio worker, a task per client that reads, parses every complete
//! command (`hoardhaven::resp::parse`), yields once, and writes the
//! replies with one write. `GET` is answered with a 100-byte bulk string
//! (`-d 100`'s value), `PING` with `+PONG`, `CONFIG GET name` with the
//! name and an empty value (redis-benchmark asks for two settings at
//! start-up), anything else (`SET`) with `+OK`: the replies a real server
//! sends, so redis-benchmark does the same work against it. What it
//! reaches at `-P 16` is bounded by redis-benchmark's single thread, not
//! by the server; at `-P 1` both sides' round trips bound it, and a
//! server may match or pass it within the noise.
//!
//!   cargo run --release --example resp-ceiling -- 127.0.0.1:PORT
//!
//! It prints `ready` once it listens, and serves until killed.

use std::io::Write;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use hoardhaven::resp::{Limits, parse};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6390".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        println!("ready");
        std::io::stdout().flush()?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(serve(stream));
        }
    })
}

async fn serve(mut stream: tokio::net::TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut bulk = b"$100\r\n".to_vec();
    bulk.extend_from_slice(&[b'x'; 100]);
    bulk.extend_from_slice(b"\r\n");
    let mut buf = bytes::BytesMut::with_capacity(16 * 1024);
    let mut out = Vec::new();
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
        while let Some(request) = parse(&buf, &Limits::AUTHENTICATED)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?
        {
            bytes::Buf::advance(&mut buf, request.consumed);
            match request.args.first() {
                None => {}
                Some(name) if name.eq_ignore_ascii_case(b"ping") => {
                    out.extend_from_slice(b"+PONG\r\n")
                }
                Some(name) if name.eq_ignore_ascii_case(b"get") => out.extend_from_slice(&bulk),
                Some(name) if name.eq_ignore_ascii_case(b"config") => {
                    // `CONFIG GET name`: the name with an empty value.
                    let asked = request.args.get(2).map_or(&[][..], |a| &a[..]);
                    write!(out, "*2\r\n${}\r\n", asked.len())?;
                    out.extend_from_slice(asked);
                    out.extend_from_slice(b"\r\n$0\r\n\r\n");
                }
                Some(_) => out.extend_from_slice(b"+OK\r\n"),
            }
        }
        if !out.is_empty() {
            tokio::task::yield_now().await;
            stream.write_all(&out).await?;
            out.clear();
        }
        if buf.capacity() < 4 * 1024 {
            buf.reserve(16 * 1024);
        }
    }
}
