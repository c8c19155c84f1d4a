//! A `hoard serve` process for tests: started on free loopback ports (port
//! 0, read back from its start-up line), stopped by its pid, and a raw RESP
//! client that returns each reply's exact bytes.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `hoard serve`.
pub struct Server {
    pub child: Option<Child>,
    pub resp_port: u16,
    pub http_port: Option<u16>,
    pub dir: PathBuf,
    /// Lines the server wrote to stderr after the start-up line.
    pub log: mpsc::Receiver<String>,
}

/// The `hoard` binary.
pub fn hoard_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hoard"))
}

impl Server {
    /// Starts `hoard -d DIR serve --resp 127.0.0.1:0 EXTRA...` and waits
    /// (at most 20 s) for its start-up line.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        Server::try_start(dir, extra).unwrap_or_else(|e| panic!("hoard serve did not start: {e}"))
    }

    /// As `start`, but returns the error output of a server that exits.
    pub fn try_start(dir: &Path, extra: &[&str]) -> Result<Server, String> {
        Server::try_start_with_env(dir, extra, &[])
    }

    /// As `try_start`, with extra environment variables for the server.
    pub fn try_start_with_env(
        dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let mut command = Command::new(hoard_bin());
        command
            .env_remove("HOARD_DIR")
            .env_remove("HOARD_FAILPOINT")
            .envs(env.iter().copied())
            .arg("-d")
            .arg(dir)
            .arg("serve");
        if !extra.contains(&"--resp") {
            command.args(["--resp", "127.0.0.1:0"]);
        }
        command.args(extra);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hoard serve");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, log) = mpsc::channel();
        std::thread::spawn(move || forward_lines(stderr, sender));
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match log.recv_timeout(left) {
                Ok(line) if line.contains("hoard serve: pid") => {
                    let port = |tag: &str| {
                        line.split(&format!("{tag} "))
                            .nth(1)
                            .and_then(|rest| rest.split([',', ' ']).next())
                            .and_then(|addr| addr.rsplit(':').next())
                            .and_then(|p| p.parse::<u16>().ok())
                    };
                    return Ok(Server {
                        resp_port: port("resp").unwrap_or(0),
                        http_port: port("http"),
                        child: Some(child),
                        dir: dir.to_path_buf(),
                        log,
                    });
                }
                Ok(line) => {
                    seen += &line;
                    seen.push('\n');
                }
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().expect("wait");
                    return Err(format!("{status}: {seen}"));
                }
            }
        }
    }

    /// The pid of the server process.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A raw RESP client.
    pub fn connect(&self) -> Raw {
        Raw::connect(self.resp_port)
    }

    /// A `redis` crate client.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.resp_port)).expect("client")
    }

    /// Sends SIGTERM and waits (at most 30 s) for the exit code.
    pub fn terminate(&mut self) -> i32 {
        self.signal("TERM");
        self.wait()
    }

    /// Sends a signal to the server by pid.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits (at most 30 s) for the server to exit; its exit code (-1 for a signal).
    pub fn wait(&mut self) -> i32 {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("hoard serve did not exit within 30 s");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The log lines written so far (after the start-up line).
    pub fn log_lines(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn forward_lines(stderr: ChildStderr, sender: mpsc::Sender<String>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { return };
        if sender.send(line).is_err() {
            return;
        }
    }
}

/// A RESP connection that sends commands and reads replies as raw bytes.
pub struct Raw {
    pub reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Raw {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// Sends one command as a RESP multibulk.
    pub fn send_command(&mut self, args: &[&[u8]]) {
        self.send(&encode(args));
    }

    /// Sends one command and returns its reply's bytes.
    pub fn call(&mut self, args: &[&[u8]]) -> String {
        self.send_command(args);
        self.reply()
    }

    /// As `call`, for text arguments split on spaces.
    pub fn cmd(&mut self, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.call(&args)
    }

    /// Reads one whole reply; its bytes as (lossy) text.
    pub fn reply(&mut self) -> String {
        String::from_utf8_lossy(&self.reply_bytes()).into_owned()
    }

    /// Reads one whole reply's bytes.
    pub fn reply_bytes(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_reply(&mut out);
        out
    }

    fn read_reply(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        let n = self
            .reader
            .read_until(b'\n', out)
            .expect("read a reply line");
        assert!(n > 0, "the server closed the connection");
        let line = String::from_utf8_lossy(&out[start..])
            .trim_end()
            .to_string();
        let count = || line[1..].parse::<i64>().expect("a count");
        match line.as_bytes()[0] {
            b'$' | b'=' | b'!' if count() >= 0 => {
                let mut body = vec![0; count() as usize + 2];
                self.reader.read_exact(&mut body).expect("bulk body");
                out.extend_from_slice(&body);
            }
            b'*' | b'~' | b'>' => {
                for _ in 0..count().max(0) {
                    self.read_reply(out);
                }
            }
            b'%' => {
                for _ in 0..count() * 2 {
                    self.read_reply(out);
                }
            }
            _ => {}
        }
    }

    /// Whether the server closed the connection (reads until EOF, 10 s at most).
    pub fn closed(&mut self) -> bool {
        self.reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => true,
            // Input the server never read makes its close a reset.
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

/// A command as a RESP multibulk.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}
