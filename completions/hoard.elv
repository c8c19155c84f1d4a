
use builtin;
use str;

set edit:completion:arg-completer[hoard] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'hoard'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'hoard'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Create a store'
            cand put 'Set KEY to VALUE (read from stdin when VALUE is omitted or `-`)'
            cand get 'Print the exact bytes of KEY''s value; several keys: one value a line (exit 1 if any is missing)'
            cand del 'Delete keys and print how many existed (exit 1 if none did)'
            cand exists 'Exit 0 if KEY exists, 1 if not; prints nothing'
            cand keys 'List keys in bytewise order, one a line'
            cand ttl 'Print KEY''s time to live in seconds: -1 if it never expires, -2 (exit 1) if missing'
            cand expire 'Set or remove KEY''s expiry (exit 1 if the key is missing)'
            cand count 'Count the live keys (or those under --prefix)'
            cand incr 'Add 1 (or BY) to the integer in KEY and print the result (a missing key counts as 0)'
            cand decr 'Subtract 1 (or BY) from the integer in KEY and print the result (a missing key counts as 0)'
            cand append 'Append VALUE to KEY''s value (creating it) and print the new length'
            cand import 'Load entries from FILE (or stdin) under one lock, with one sync at the end'
            cand export 'Write every live entry (or those under --prefix) to stdout'
            cand hint 'Rebuild the hint (the on-disk index that makes opening fast) from the data files'
            cand snapshot 'Memory stores: write a snapshot and start a fresh AOF. With --to: write a consistent copy'
            cand merge 'Compact the store: rewrite live records into new files, drop the rest'
            cand upgrade 'Rewrite a store of an older format into the current one, crash-safely'
            cand inspect 'Show data files, live and dead bytes, key count, hint state and merge advice'
            cand verify 'Check every checksum and hint entry; exit 4 if anything is corrupt'
            cand bench 'Run built-in workloads and print ops/s, MB/s and latency percentiles (in a temporary store, or in a new directory given with --dir)'
            cand serve 'Serve the store to Redis clients (RESP2/RESP3) and HTTP clients until SIGTERM, SIGINT or SHUTDOWN'
            cand completions 'Print a shell completion script'
            cand man 'Print a man page (roff): hoard(1), or hoard-COMMAND(1) for one command'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hoard;init'= {
            cand --engine 'The storage engine [default: bitcask]'
            cand --sync 'When writes reach the disk: always (before each write is acknowledged), interval:MS, never [default: always]'
            cand --max-file-size 'Bitcask only: size at which a data file is closed and a new one begun (e.g. 64M, 1G, 4096) [default: 64M]'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --force-manifest 'Replace the damaged manifest (HOARD) of an existing store: the engine is read off its files, the damaged file is kept as HOARD.damaged-TIME; the data files are not touched'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;put'= {
            cand --ttl 'Expire the key after this long: 500ms, 30s, 5m, 2h, 1d (a bare number is seconds)'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --nx 'Only write if the key does not exist (exit 1 if it does)'
            cand --xx 'Only write if the key exists (exit 1 if it does not), as Redis SET XX'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;get'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand -0 'End every value with NUL instead of newline (also with a single key)'
            cand --null 'End every value with NUL instead of newline (also with a single key)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;del'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;exists'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;keys'= {
            cand --prefix 'Only keys starting with these bytes'
            cand --glob 'Only keys matching this pattern, with Redis''s rules: * ? [abc] [^a] [a-z] \x'
            cand --limit 'At most this many keys'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --with-values 'Print each key with its value: key<TAB>value[<TAB>expires_at_ms] as `export` writes TSV (JSON Lines with --json)'
            cand -0 'Separate keys with NUL instead of newline (for keys holding newlines; pairs with `xargs -0`)'
            cand --null 'Separate keys with NUL instead of newline (for keys holding newlines; pairs with `xargs -0`)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;ttl'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --ms 'Print milliseconds instead of seconds (Redis PTTL)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;expire'= {
            cand --at 'Expire at this Unix time, in seconds (Redis EXPIREAT); a time already past deletes the key'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --persist 'Remove the expiry instead (exit 1 if the key had none, as Redis PERSIST)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;count'= {
            cand --prefix 'Only keys starting with these bytes'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;incr'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;decr'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;append'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;import'= {
            cand --format 'The input''s format [default: rdb if the input starts as an RDB file does, else from FILE''s extension: .tsv, .jsonl/.ndjson/.json, .resp, .rdb; else tsv]'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --skip-other-types 'With --format rdb: import the strings of database 0 and count the keys of other types and databases instead of refusing the file'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;export'= {
            cand --format 'The output''s format [default: tsv; jsonl with --json]'
            cand --prefix 'Only keys starting with these bytes'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;hint'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;snapshot'= {
            cand --to 'Write a consistent copy of the store into this new directory (either engine)'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;merge'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --dry-run 'Only report what a merge would reclaim; change nothing'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;upgrade'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;inspect'= {
            cand --key 'Show where this key''s newest record lives instead (exit 1 if missing)'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;verify'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --repair 'Salvage: back up damaged files, keep every record that passes its checksum, rebuild the hint'
            cand --dry-run 'With --repair: only say what the repair would do'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;bench'= {
            cand --engine 'Which engine to measure'
            cand --keys 'Number of keys'
            cand --key-size 'Bytes per key (at least 8)'
            cand --value-size 'Bytes per value'
            cand --workload 'Workloads to run, in order'
            cand --threads 'Threads sharing one open store in read, mixed and durable; a list (e.g. 1,2,4) runs each once per count, a row apiece'
            cand --batch 'Keys per lookup in read: N > 1 reads through one `get_many` call per N keys (as Redis MGET or pipelined GETs do), which overlaps the memory reads of their lookups; each get''s latency is then its batch''s time divided by N'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;serve'= {
            cand --resp 'Address for Redis clients (port 0: any free port, printed at start-up); `none` for no RESP listener [default: 127.0.0.1:6379]'
            cand --http 'Address for HTTP clients, e.g. 127.0.0.1:8080 (no HTTP listener without it)'
            cand --requirepass-file 'File holding the password clients must give (AUTH, HELLO AUTH); required to listen on a non-loopback address'
            cand --http-token-file 'File holding the bearer token HTTP clients must send; required (with a password) for HTTP on a non-loopback address'
            cand --maxclients 'Most clients connected at once'
            cand --timeout 'Close a client idle this many seconds (0: never)'
            cand --query-buffer-limit 'Most bytes of unparsed input one client may hold (e.g. 1G)'
            cand --client-buffers-limit 'Most bytes of unparsed input all clients together may hold'
            cand --reply-limit 'Most bytes of a reply built from many items (KEYS, MGET, SCAN, EXEC)'
            cand --repl-backlog-size 'Most bytes of the replication stream kept for replicas that reconnect or fall behind'
            cand --threads 'Worker threads [default: one per core but one]'
            cand --snapshot-every 'Memory stores: write a snapshot this often if anything changed (e.g. 1h; 0: never)'
            cand --merge-every 'Bitcask stores: look for files worth merging this often (e.g. 10s; 0: never)'
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;completions'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;man'= {
            cand -d 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --dir 'The store directory [default: $HOARD_DIR, else ./data]'
            cand --lock-timeout 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)'
            cand --list 'Print the names of the commands that have a page, one a line'
            cand --json 'Print results as JSON (JSON Lines for streams such as `keys`)'
            cand -q 'Print no warnings or notices on stderr (errors are still printed)'
            cand --quiet 'Print no warnings or notices on stderr (errors are still printed)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'hoard;help'= {
            cand init 'Create a store'
            cand put 'Set KEY to VALUE (read from stdin when VALUE is omitted or `-`)'
            cand get 'Print the exact bytes of KEY''s value; several keys: one value a line (exit 1 if any is missing)'
            cand del 'Delete keys and print how many existed (exit 1 if none did)'
            cand exists 'Exit 0 if KEY exists, 1 if not; prints nothing'
            cand keys 'List keys in bytewise order, one a line'
            cand ttl 'Print KEY''s time to live in seconds: -1 if it never expires, -2 (exit 1) if missing'
            cand expire 'Set or remove KEY''s expiry (exit 1 if the key is missing)'
            cand count 'Count the live keys (or those under --prefix)'
            cand incr 'Add 1 (or BY) to the integer in KEY and print the result (a missing key counts as 0)'
            cand decr 'Subtract 1 (or BY) from the integer in KEY and print the result (a missing key counts as 0)'
            cand append 'Append VALUE to KEY''s value (creating it) and print the new length'
            cand import 'Load entries from FILE (or stdin) under one lock, with one sync at the end'
            cand export 'Write every live entry (or those under --prefix) to stdout'
            cand hint 'Rebuild the hint (the on-disk index that makes opening fast) from the data files'
            cand snapshot 'Memory stores: write a snapshot and start a fresh AOF. With --to: write a consistent copy'
            cand merge 'Compact the store: rewrite live records into new files, drop the rest'
            cand upgrade 'Rewrite a store of an older format into the current one, crash-safely'
            cand inspect 'Show data files, live and dead bytes, key count, hint state and merge advice'
            cand verify 'Check every checksum and hint entry; exit 4 if anything is corrupt'
            cand bench 'Run built-in workloads and print ops/s, MB/s and latency percentiles (in a temporary store, or in a new directory given with --dir)'
            cand serve 'Serve the store to Redis clients (RESP2/RESP3) and HTTP clients until SIGTERM, SIGINT or SHUTDOWN'
            cand completions 'Print a shell completion script'
            cand man 'Print a man page (roff): hoard(1), or hoard-COMMAND(1) for one command'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'hoard;help;init'= {
        }
        &'hoard;help;put'= {
        }
        &'hoard;help;get'= {
        }
        &'hoard;help;del'= {
        }
        &'hoard;help;exists'= {
        }
        &'hoard;help;keys'= {
        }
        &'hoard;help;ttl'= {
        }
        &'hoard;help;expire'= {
        }
        &'hoard;help;count'= {
        }
        &'hoard;help;incr'= {
        }
        &'hoard;help;decr'= {
        }
        &'hoard;help;append'= {
        }
        &'hoard;help;import'= {
        }
        &'hoard;help;export'= {
        }
        &'hoard;help;hint'= {
        }
        &'hoard;help;snapshot'= {
        }
        &'hoard;help;merge'= {
        }
        &'hoard;help;upgrade'= {
        }
        &'hoard;help;inspect'= {
        }
        &'hoard;help;verify'= {
        }
        &'hoard;help;bench'= {
        }
        &'hoard;help;serve'= {
        }
        &'hoard;help;completions'= {
        }
        &'hoard;help;man'= {
        }
        &'hoard;help;help'= {
        }
    ]
    $completions[$command]
}
