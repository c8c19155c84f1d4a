//! The command line, declared once with clap's derive API. Help, the man
//! page and the shell completions are all generated from these definitions.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::parse;

/// hoard: a key-value store in a directory, for scripts and operators.
///
/// Each command opens the store, takes its lock, does one thing and exits.
/// Exit codes: 0 success, 1 not found / condition false, 2 usage error or
/// invalid input, 3 store busy, 4 corruption detected, 5 any other failure.
#[derive(Debug, Parser)]
#[command(
    name = "hoard",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the command.
#[derive(Debug, Args)]
pub struct Global {
    /// The store directory [default: $HOARD_DIR, else ./data]
    #[arg(
        id = "dir",
        short = 'd',
        long = "dir",
        value_name = "DIR",
        global = true
    )]
    pub dir_arg: Option<PathBuf>,

    /// The store directory in use: `--dir`, else `$HOARD_DIR`, else `./data`
    /// (resolved after parsing, so usage lines never show `--dir` as given).
    #[arg(skip)]
    pub dir: PathBuf,

    /// Whether `--dir` was given on the command line (not from `HOARD_DIR`).
    #[arg(skip)]
    pub dir_given: bool,

    /// Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)
    #[arg(long, value_name = "S", default_value = "10", value_parser = parse::lock_timeout, global = true)]
    pub lock_timeout: std::time::Duration,

    /// Print results as JSON (JSON Lines for streams such as `keys`)
    #[arg(long, global = true)]
    pub json: bool,

    /// Print no warnings or notices on stderr (errors are still printed)
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a store
    Init(InitArgs),
    /// Set KEY to VALUE (read from stdin when VALUE is omitted or `-`)
    Put(PutArgs),
    /// Print the exact bytes of KEY's value; several keys: one value a line (exit 1 if any is missing)
    Get(GetArgs),
    /// Delete keys and print how many existed (exit 1 if none did)
    Del(DelArgs),
    /// Exit 0 if KEY exists, 1 if not; prints nothing
    Exists(KeyArg),
    /// List keys in bytewise order, one a line
    Keys(KeysArgs),
    /// Print KEY's time to live in seconds: -1 if it never expires, -2 (exit 1) if missing
    Ttl(TtlArgs),
    /// Set or remove KEY's expiry (exit 1 if the key is missing)
    Expire(ExpireArgs),
    /// Count the live keys (or those under --prefix)
    Count(CountArgs),
    /// Add 1 (or BY) to the integer in KEY and print the result (a missing key counts as 0)
    Incr(IncrArgs),
    /// Subtract 1 (or BY) from the integer in KEY and print the result (a missing key counts as 0)
    Decr(IncrArgs),
    /// Append VALUE to KEY's value (creating it) and print the new length
    Append(AppendArgs),
    /// Load entries from FILE (or stdin) under one lock, with one sync at the end
    Import(ImportArgs),
    /// Write every live entry (or those under --prefix) to stdout
    Export(ExportArgs),
    /// Rebuild the hint (the on-disk index that makes opening fast) from the data files
    Hint,
    /// Memory stores: write a snapshot and start a fresh AOF. With --to: write a consistent copy
    Snapshot(SnapshotArgs),
    /// Compact the store: rewrite live records into new files, drop the rest
    Merge(MergeArgs),
    /// Rewrite a store of an older format into the current one, crash-safely
    Upgrade,
    /// Show data files, live and dead bytes, key count, hint state and merge advice
    Inspect(InspectArgs),
    /// Check every checksum and hint entry; exit 4 if anything is corrupt
    Verify(VerifyArgs),
    /// Run built-in workloads and print ops/s, MB/s and latency percentiles
    /// (in a temporary store, or in a new directory given with --dir)
    Bench(BenchArgs),
    /// Serve the store to Redis clients (RESP2/RESP3) and HTTP clients until SIGTERM, SIGINT or SHUTDOWN
    Serve(ServeArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print a man page (roff): hoard(1), or hoard-COMMAND(1) for one command
    Man(ManArgs),
}

/// Engines selectable at `init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    /// Append-only data files and an in-memory keydir
    Bitcask,
    /// The whole data set in RAM, persisted by snapshot and log
    Memory,
}

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The storage engine [default: bitcask]
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,

    /// When writes reach the disk: always (before each write is acknowledged), interval:MS, never
    /// [default: always]
    #[arg(long, value_name = "POLICY", value_parser = parse::sync_policy)]
    pub sync: Option<hoardhaven::SyncPolicy>,

    /// Bitcask only: size at which a data file is closed and a new one begun (e.g. 64M, 1G, 4096)
    /// [default: 64M]
    #[arg(long, value_name = "SIZE", value_parser = parse::size)]
    pub max_file_size: Option<u64>,

    /// Replace the damaged manifest (HOARD) of an existing store: the engine is read off its
    /// files, the damaged file is kept as HOARD.damaged-TIME; the data files are not touched
    #[arg(long)]
    pub force_manifest: bool,
}

/// Arguments of `put`.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The key (any bytes)
    pub key: OsString,

    /// The value; omitted or `-` reads it from stdin, byte for byte
    pub value: Option<OsString>,

    /// Expire the key after this long: 500ms, 30s, 5m, 2h, 1d (a bare number is seconds)
    #[arg(long, value_name = "DURATION", value_parser = parse::duration_ms)]
    pub ttl: Option<u64>,

    /// Only write if the key does not exist (exit 1 if it does)
    #[arg(long)]
    pub nx: bool,

    /// Only write if the key exists (exit 1 if it does not), as Redis SET XX
    #[arg(long, conflicts_with = "nx")]
    pub xx: bool,
}

/// Arguments of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The keys (any bytes); with several, values are printed one a line, a missing one as an empty line
    #[arg(required = true, value_name = "KEY")]
    pub keys: Vec<OsString>,

    /// End every value with NUL instead of newline (also with a single key)
    #[arg(short = '0', long = "null")]
    pub null: bool,
}

/// Arguments of `ttl`.
#[derive(Debug, Args)]
pub struct TtlArgs {
    /// The key (any bytes)
    pub key: OsString,

    /// Print milliseconds instead of seconds (Redis PTTL)
    #[arg(long)]
    pub ms: bool,
}

/// Arguments of `count`.
#[derive(Debug, Args)]
pub struct CountArgs {
    /// Only keys starting with these bytes
    #[arg(long, value_name = "P")]
    pub prefix: Option<OsString>,
}

/// Arguments of `incr` and `decr`.
#[derive(Debug, Args)]
pub struct IncrArgs {
    /// The key; its value must be a base-10 64-bit integer (exit 2 otherwise)
    pub key: OsString,

    /// How much to add or subtract
    #[arg(default_value_t = 1, allow_negative_numbers = true)]
    pub by: i64,
}

/// Arguments of `append`.
#[derive(Debug, Args)]
pub struct AppendArgs {
    /// The key (any bytes)
    pub key: OsString,

    /// The bytes to append
    pub value: OsString,
}

/// A single key argument.
#[derive(Debug, Args)]
pub struct KeyArg {
    /// The key (any bytes)
    pub key: OsString,
}

/// Arguments of `del`.
#[derive(Debug, Args)]
pub struct DelArgs {
    /// The keys to delete
    #[arg(required = true)]
    pub keys: Vec<OsString>,
}

/// Arguments of `keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Only keys starting with these bytes
    #[arg(long, value_name = "P")]
    pub prefix: Option<OsString>,

    /// Only keys matching this pattern, with Redis's rules: * ? [abc] [^a] [a-z] \x
    #[arg(long, value_name = "PAT")]
    pub glob: Option<OsString>,

    /// At most this many keys
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Print each key with its value: key<TAB>value[<TAB>expires_at_ms] as `export` writes TSV
    /// (JSON Lines with --json)
    #[arg(long, conflicts_with = "null")]
    pub with_values: bool,

    /// Separate keys with NUL instead of newline (for keys holding newlines; pairs with `xargs -0`)
    #[arg(short = '0', long = "null")]
    pub null: bool,
}

/// Arguments of `expire`.
#[derive(Debug, Args)]
#[command(override_usage = "hoard expire [OPTIONS] <KEY> <DURATION>\n       \
    hoard expire [OPTIONS] <KEY> --at <UNIX_SECONDS>\n       \
    hoard expire [OPTIONS] <KEY> --persist")]
pub struct ExpireArgs {
    /// The key
    pub key: OsString,

    /// Expire after this long: 500ms, 30s, 5m, 2h, 1d (a bare number is seconds)
    #[arg(
        value_parser = parse::duration_ms,
        required_unless_present_any = ["persist", "at"],
        conflicts_with_all = ["persist", "at"]
    )]
    pub duration: Option<u64>,

    /// Expire at this Unix time, in seconds (Redis EXPIREAT); a time already past deletes the key
    #[arg(long, value_name = "UNIX_SECONDS", conflicts_with = "persist")]
    pub at: Option<u64>,

    /// Remove the expiry instead (exit 1 if the key had none, as Redis PERSIST)
    #[arg(long)]
    pub persist: bool,
}

/// Arguments of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Only report what a merge would reclaim; change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Show where this key's newest record lives instead (exit 1 if missing)
    #[arg(long, value_name = "KEY")]
    pub key: Option<OsString>,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Salvage: back up damaged files, keep every record that passes its checksum, rebuild the hint
    #[arg(long)]
    pub repair: bool,

    /// With --repair: only say what the repair would do
    #[arg(long, requires = "repair")]
    pub dry_run: bool,
}

/// Interchange formats of `import` and `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// key<TAB>value[<TAB>expires_at_ms] with \\ \t \n \r \xHH escapes
    Tsv,
    /// One JSON object a line; base64 for bytes that are not UTF-8
    Jsonl,
    /// Redis commands: export writes SET (PXAT for expiry), for `redis-cli --pipe`; import applies
    /// SET, MSET, DEL, EXPIRE, INCRBY, APPEND and the other write commands, in order
    Resp,
    /// A Redis RDB file: export writes version 9 (redis-server loads it as its dataset); import
    /// reads versions 1 to 12 as redis-server writes them (strings only, see --skip-other-types)
    Rdb,
}

impl FormatArg {
    /// The line-by-line interchange format, or `None` for RDB files.
    pub fn line_format(self) -> Option<hoardhaven::transfer::Format> {
        match self {
            FormatArg::Tsv => Some(hoardhaven::transfer::Format::Tsv),
            FormatArg::Jsonl => Some(hoardhaven::transfer::Format::Jsonl),
            FormatArg::Resp => Some(hoardhaven::transfer::Format::Resp),
            FormatArg::Rdb => None,
        }
    }
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to read; `-` or omitted reads stdin
    pub file: Option<PathBuf>,

    /// The input's format [default: rdb if the input starts as an RDB file does, else from FILE's
    /// extension: .tsv, .jsonl/.ndjson/.json, .resp, .rdb; else tsv]
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// With --format rdb: import the strings of database 0 and count the keys of other types and
    /// databases instead of refusing the file
    #[arg(long)]
    pub skip_other_types: bool,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The output's format [default: tsv; jsonl with --json]
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// Only keys starting with these bytes
    #[arg(long, value_name = "P")]
    pub prefix: Option<OsString>,
}

/// Arguments of `snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Write a consistent copy of the store into this new directory (either engine)
    #[arg(long, value_name = "DIR2")]
    pub to: Option<PathBuf>,
}

/// Engines for `bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchEngine {
    /// The bitcask engine
    Bitcask,
    /// The memory engine
    Memory,
    /// Both, one after the other
    Both,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which engine to measure
    #[arg(long, value_enum, default_value_t = BenchEngine::Both)]
    pub engine: BenchEngine,

    /// Number of keys
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub keys: u64,

    /// Bytes per key (at least 8)
    #[arg(long, value_name = "B", default_value_t = 20, value_parser = clap::value_parser!(u32).range(8..=65536))]
    pub key_size: u32,

    /// Bytes per value
    #[arg(long, value_name = "B", default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=(1 << 20)))]
    pub value_size: u32,

    /// Workloads to run, in order
    ///
    /// background (not run by default) overwrites every key, then times puts with nothing else
    /// running and again while a background merge (bitcask) or snapshot (memory) runs
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "load,read,mixed,overwrite,durable,open",
        value_parser = ["load", "read", "mixed", "overwrite", "durable", "open", "background"]
    )]
    pub workload: Vec<String>,

    /// Threads sharing one open store in read, mixed and durable; a list (e.g. 1,2,4) runs each
    /// once per count, a row apiece
    ///
    /// Each thread does its share of the operations: read, a slice of one shuffled order of all
    /// keys; mixed, its own random sequence of keys; durable, puts of its own keys, 2000 per
    /// thread (at most --keys in all) into a fresh store per count. Latency percentiles are merged
    /// across threads; durable rows also give the fdatasyncs done and puts per sync (group
    /// commit). load, overwrite and open always run on one thread
    #[arg(
        long,
        value_name = "N",
        value_delimiter = ',',
        default_value = "1",
        value_parser = clap::value_parser!(u32).range(1..=hoardhaven::bench::THREADS_MAX as i64)
    )]
    pub threads: Vec<u32>,

    /// Keys per lookup in read: N > 1 reads through one `get_many` call per N keys (as Redis MGET
    /// or pipelined GETs do), which overlaps the memory reads of their lookups; each get's latency
    /// is then its batch's time divided by N
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(1..=1024)
    )]
    pub batch: u32,
}

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (omitted: the main page, hoard(1))
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,

    /// Print the names of the commands that have a page, one a line
    #[arg(long, hide = true, conflicts_with = "command")]
    pub list: bool,
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address for Redis clients (port 0: any free port, printed at start-up); `none` for no RESP
    /// listener [default: 127.0.0.1:6379]
    #[arg(long, value_name = "ADDR", value_parser = parse::listen_addr)]
    pub resp: Option<ListenAddr>,

    /// Address for HTTP clients, e.g. 127.0.0.1:8080 (no HTTP listener without it)
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,

    /// File holding the password clients must give (AUTH, HELLO AUTH); required to listen on a
    /// non-loopback address
    #[arg(long, value_name = "FILE")]
    pub requirepass_file: Option<PathBuf>,

    /// File holding the bearer token HTTP clients must send; required (with a password) for HTTP on
    /// a non-loopback address
    #[arg(long, value_name = "FILE")]
    pub http_token_file: Option<PathBuf>,

    /// Most clients connected at once
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub maxclients: usize,

    /// Close a client idle this many seconds (0: never)
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub timeout: u64,

    /// Most bytes of unparsed input one client may hold (e.g. 1G)
    #[arg(long, value_name = "SIZE", value_parser = parse::size, default_value = "1G")]
    pub query_buffer_limit: u64,

    /// Most bytes of unparsed input all clients together may hold
    #[arg(long, value_name = "SIZE", value_parser = parse::size, default_value = "2G")]
    pub client_buffers_limit: u64,

    /// Most bytes of a reply built from many items (KEYS, MGET, SCAN, EXEC)
    #[arg(long, value_name = "SIZE", value_parser = parse::size, default_value = "256M")]
    pub reply_limit: u64,

    /// Most bytes of the replication stream kept for replicas that reconnect or fall behind
    #[arg(long, value_name = "SIZE", value_parser = parse::size, default_value = "64M")]
    pub repl_backlog_size: u64,

    /// Worker threads [default: one per core but one]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Memory stores: write a snapshot this often if anything changed (e.g. 1h; 0: never)
    #[arg(long, value_name = "DURATION", value_parser = parse::duration_ms_or_zero, default_value = "1h")]
    pub snapshot_every: u64,

    /// Bitcask stores: look for files worth merging this often (e.g. 10s; 0: never)
    #[arg(long, value_name = "DURATION", value_parser = parse::duration_ms_or_zero, default_value = "10s")]
    pub merge_every: u64,
}

/// A listen address, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAddr {
    /// Do not listen.
    None,
    /// Listen here.
    At(std::net::SocketAddr),
}
