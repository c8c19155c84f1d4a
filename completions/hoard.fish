# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_hoard_global_optspecs
    string join \n d/dir= lock-timeout= json q/quiet h/help V/version
end

function __fish_hoard_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_hoard_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_hoard_using_subcommand
    set -l cmd (__fish_hoard_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c hoard -n "__fish_hoard_needs_command" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_needs_command" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_needs_command" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_needs_command" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hoard -n "__fish_hoard_needs_command" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "init" -d 'Create a store'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "put" -d 'Set KEY to VALUE (read from stdin when VALUE is omitted or `-`)'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "get" -d 'Print the exact bytes of KEY\'s value; several keys: one value a line (exit 1 if any is missing)'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "del" -d 'Delete keys and print how many existed (exit 1 if none did)'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "exists" -d 'Exit 0 if KEY exists, 1 if not; prints nothing'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "keys" -d 'List keys in bytewise order, one a line'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "ttl" -d 'Print KEY\'s time to live in seconds: -1 if it never expires, -2 (exit 1) if missing'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "expire" -d 'Set or remove KEY\'s expiry (exit 1 if the key is missing)'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "count" -d 'Count the live keys (or those under --prefix)'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "incr" -d 'Add 1 (or BY) to the integer in KEY and print the result (a missing key counts as 0)'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "decr" -d 'Subtract 1 (or BY) from the integer in KEY and print the result (a missing key counts as 0)'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "append" -d 'Append VALUE to KEY\'s value (creating it) and print the new length'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "import" -d 'Load entries from FILE (or stdin) under one lock, with one sync at the end'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "export" -d 'Write every live entry (or those under --prefix) to stdout'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "hint" -d 'Rebuild the hint (the on-disk index that makes opening fast) from the data files'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "snapshot" -d 'Memory stores: write a snapshot and start a fresh AOF. With --to: write a consistent copy'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "merge" -d 'Compact the store: rewrite live records into new files, drop the rest'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "upgrade" -d 'Rewrite a store of an older format into the current one, crash-safely'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "inspect" -d 'Show data files, live and dead bytes, key count, hint state and merge advice'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "verify" -d 'Check every checksum and hint entry; exit 4 if anything is corrupt'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "bench" -d 'Run built-in workloads and print ops/s, MB/s and latency percentiles (in a temporary store, or in a new directory given with --dir)'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "serve" -d 'Serve the store to Redis clients (RESP2/RESP3) and HTTP clients until SIGTERM, SIGINT or SHUTDOWN'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "man" -d 'Print a man page (roff): hoard(1), or hoard-COMMAND(1) for one command'
complete -c hoard -n "__fish_hoard_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c hoard -n "__fish_hoard_using_subcommand init" -l engine -d 'The storage engine [default: bitcask]' -r -f -a "bitcask\t'Append-only data files and an in-memory keydir'
memory\t'The whole data set in RAM, persisted by snapshot and log'"
complete -c hoard -n "__fish_hoard_using_subcommand init" -l sync -d 'When writes reach the disk: always (before each write is acknowledged), interval:MS, never [default: always]' -r
complete -c hoard -n "__fish_hoard_using_subcommand init" -l max-file-size -d 'Bitcask only: size at which a data file is closed and a new one begun (e.g. 64M, 1G, 4096) [default: 64M]' -r
complete -c hoard -n "__fish_hoard_using_subcommand init" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand init" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand init" -l force-manifest -d 'Replace the damaged manifest (HOARD) of an existing store: the engine is read off its files, the damaged file is kept as HOARD.damaged-TIME; the data files are not touched'
complete -c hoard -n "__fish_hoard_using_subcommand init" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand init" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hoard -n "__fish_hoard_using_subcommand init" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand put" -l ttl -d 'Expire the key after this long: 500ms, 30s, 5m, 2h, 1d (a bare number is seconds)' -r
complete -c hoard -n "__fish_hoard_using_subcommand put" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand put" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand put" -l nx -d 'Only write if the key does not exist (exit 1 if it does)'
complete -c hoard -n "__fish_hoard_using_subcommand put" -l xx -d 'Only write if the key exists (exit 1 if it does not), as Redis SET XX'
complete -c hoard -n "__fish_hoard_using_subcommand put" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand put" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand put" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand put" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand get" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand get" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand get" -s 0 -l null -d 'End every value with NUL instead of newline (also with a single key)'
complete -c hoard -n "__fish_hoard_using_subcommand get" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand get" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand get" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand get" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand del" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand del" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand del" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand del" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand del" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand del" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand exists" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand exists" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand exists" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand exists" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand exists" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand exists" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand keys" -l prefix -d 'Only keys starting with these bytes' -r
complete -c hoard -n "__fish_hoard_using_subcommand keys" -l glob -d 'Only keys matching this pattern, with Redis\'s rules: * ? [abc] [^a] [a-z] \\x' -r
complete -c hoard -n "__fish_hoard_using_subcommand keys" -l limit -d 'At most this many keys' -r
complete -c hoard -n "__fish_hoard_using_subcommand keys" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand keys" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand keys" -l with-values -d 'Print each key with its value: key<TAB>value[<TAB>expires_at_ms] as `export` writes TSV (JSON Lines with --json)'
complete -c hoard -n "__fish_hoard_using_subcommand keys" -s 0 -l null -d 'Separate keys with NUL instead of newline (for keys holding newlines; pairs with `xargs -0`)'
complete -c hoard -n "__fish_hoard_using_subcommand keys" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand keys" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand keys" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand keys" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand ttl" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand ttl" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand ttl" -l ms -d 'Print milliseconds instead of seconds (Redis PTTL)'
complete -c hoard -n "__fish_hoard_using_subcommand ttl" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand ttl" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand ttl" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand ttl" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand expire" -l at -d 'Expire at this Unix time, in seconds (Redis EXPIREAT); a time already past deletes the key' -r
complete -c hoard -n "__fish_hoard_using_subcommand expire" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand expire" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand expire" -l persist -d 'Remove the expiry instead (exit 1 if the key had none, as Redis PERSIST)'
complete -c hoard -n "__fish_hoard_using_subcommand expire" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand expire" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand expire" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand expire" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand count" -l prefix -d 'Only keys starting with these bytes' -r
complete -c hoard -n "__fish_hoard_using_subcommand count" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand count" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand count" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand count" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand count" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand count" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand incr" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand incr" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand incr" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand incr" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand incr" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand incr" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand decr" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand decr" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand decr" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand decr" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand decr" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand decr" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand append" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand append" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand append" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand append" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand append" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand append" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand import" -l format -d 'The input\'s format [default: rdb if the input starts as an RDB file does, else from FILE\'s extension: .tsv, .jsonl/.ndjson/.json, .resp, .rdb; else tsv]' -r -f -a "tsv\t'key<TAB>value[<TAB>expires_at_ms] with \\\\ \\t \\n \\r \\xHH escapes'
jsonl\t'One JSON object a line; base64 for bytes that are not UTF-8'
resp\t'Redis commands: export writes SET (PXAT for expiry), for `redis-cli --pipe`; import applies SET, MSET, DEL, EXPIRE, INCRBY, APPEND and the other write commands, in order'
rdb\t'A Redis RDB file: export writes version 9 (redis-server loads it as its dataset); import reads versions 1 to 12 as redis-server writes them (strings only, see --skip-other-types)'"
complete -c hoard -n "__fish_hoard_using_subcommand import" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand import" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand import" -l skip-other-types -d 'With --format rdb: import the strings of database 0 and count the keys of other types and databases instead of refusing the file'
complete -c hoard -n "__fish_hoard_using_subcommand import" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand import" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hoard -n "__fish_hoard_using_subcommand import" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand export" -l format -d 'The output\'s format [default: tsv; jsonl with --json]' -r -f -a "tsv\t'key<TAB>value[<TAB>expires_at_ms] with \\\\ \\t \\n \\r \\xHH escapes'
jsonl\t'One JSON object a line; base64 for bytes that are not UTF-8'
resp\t'Redis commands: export writes SET (PXAT for expiry), for `redis-cli --pipe`; import applies SET, MSET, DEL, EXPIRE, INCRBY, APPEND and the other write commands, in order'
rdb\t'A Redis RDB file: export writes version 9 (redis-server loads it as its dataset); import reads versions 1 to 12 as redis-server writes them (strings only, see --skip-other-types)'"
complete -c hoard -n "__fish_hoard_using_subcommand export" -l prefix -d 'Only keys starting with these bytes' -r
complete -c hoard -n "__fish_hoard_using_subcommand export" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand export" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand export" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand export" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hoard -n "__fish_hoard_using_subcommand export" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand hint" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand hint" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand hint" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand hint" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand hint" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand hint" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand snapshot" -l to -d 'Write a consistent copy of the store into this new directory (either engine)' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand snapshot" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand snapshot" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand snapshot" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand snapshot" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand snapshot" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand snapshot" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand merge" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand merge" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand merge" -l dry-run -d 'Only report what a merge would reclaim; change nothing'
complete -c hoard -n "__fish_hoard_using_subcommand merge" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand merge" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand merge" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand merge" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand upgrade" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand upgrade" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand upgrade" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand upgrade" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand upgrade" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand upgrade" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand inspect" -l key -d 'Show where this key\'s newest record lives instead (exit 1 if missing)' -r
complete -c hoard -n "__fish_hoard_using_subcommand inspect" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand inspect" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand inspect" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand inspect" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand verify" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand verify" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand verify" -l repair -d 'Salvage: back up damaged files, keep every record that passes its checksum, rebuild the hint'
complete -c hoard -n "__fish_hoard_using_subcommand verify" -l dry-run -d 'With --repair: only say what the repair would do'
complete -c hoard -n "__fish_hoard_using_subcommand verify" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand verify" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand verify" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand verify" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand bench" -l engine -d 'Which engine to measure' -r -f -a "bitcask\t'The bitcask engine'
memory\t'The memory engine'
both\t'Both, one after the other'"
complete -c hoard -n "__fish_hoard_using_subcommand bench" -l keys -d 'Number of keys' -r
complete -c hoard -n "__fish_hoard_using_subcommand bench" -l key-size -d 'Bytes per key (at least 8)' -r
complete -c hoard -n "__fish_hoard_using_subcommand bench" -l value-size -d 'Bytes per value' -r
complete -c hoard -n "__fish_hoard_using_subcommand bench" -l workload -d 'Workloads to run, in order' -r -f -a "load\t''
read\t''
mixed\t''
overwrite\t''
durable\t''
open\t''
background\t''"
complete -c hoard -n "__fish_hoard_using_subcommand bench" -l threads -d 'Threads sharing one open store in read, mixed and durable; a list (e.g. 1,2,4) runs each once per count, a row apiece' -r
complete -c hoard -n "__fish_hoard_using_subcommand bench" -l batch -d 'Keys per lookup in read: N > 1 reads through one `get_many` call per N keys (as Redis MGET or pipelined GETs do), which overlaps the memory reads of their lookups; each get\'s latency is then its batch\'s time divided by N' -r
complete -c hoard -n "__fish_hoard_using_subcommand bench" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand bench" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand bench" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand bench" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c hoard -n "__fish_hoard_using_subcommand bench" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l resp -d 'Address for Redis clients (port 0: any free port, printed at start-up); `none` for no RESP listener [default: 127.0.0.1:6379]' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l http -d 'Address for HTTP clients, e.g. 127.0.0.1:8080 (no HTTP listener without it)' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l requirepass-file -d 'File holding the password clients must give (AUTH, HELLO AUTH); required to listen on a non-loopback address' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l http-token-file -d 'File holding the bearer token HTTP clients must send; required (with a password) for HTTP on a non-loopback address' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l maxclients -d 'Most clients connected at once' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l timeout -d 'Close a client idle this many seconds (0: never)' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l query-buffer-limit -d 'Most bytes of unparsed input one client may hold (e.g. 1G)' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l client-buffers-limit -d 'Most bytes of unparsed input all clients together may hold' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l reply-limit -d 'Most bytes of a reply built from many items (KEYS, MGET, SCAN, EXEC)' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l repl-backlog-size -d 'Most bytes of the replication stream kept for replicas that reconnect or fall behind' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l threads -d 'Worker threads [default: one per core but one]' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l snapshot-every -d 'Memory stores: write a snapshot this often if anything changed (e.g. 1h; 0: never)' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l merge-every -d 'Bitcask stores: look for files worth merging this often (e.g. 10s; 0: never)' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand serve" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand serve" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand serve" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand serve" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand completions" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand completions" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand completions" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand completions" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand completions" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand completions" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand man" -s d -l dir -d 'The store directory [default: $HOARD_DIR, else ./data]' -r -F
complete -c hoard -n "__fish_hoard_using_subcommand man" -l lock-timeout -d 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)' -r
complete -c hoard -n "__fish_hoard_using_subcommand man" -l list -d 'Print the names of the commands that have a page, one a line'
complete -c hoard -n "__fish_hoard_using_subcommand man" -l json -d 'Print results as JSON (JSON Lines for streams such as `keys`)'
complete -c hoard -n "__fish_hoard_using_subcommand man" -s q -l quiet -d 'Print no warnings or notices on stderr (errors are still printed)'
complete -c hoard -n "__fish_hoard_using_subcommand man" -s h -l help -d 'Print help'
complete -c hoard -n "__fish_hoard_using_subcommand man" -s V -l version -d 'Print version'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "init" -d 'Create a store'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "put" -d 'Set KEY to VALUE (read from stdin when VALUE is omitted or `-`)'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "get" -d 'Print the exact bytes of KEY\'s value; several keys: one value a line (exit 1 if any is missing)'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "del" -d 'Delete keys and print how many existed (exit 1 if none did)'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "exists" -d 'Exit 0 if KEY exists, 1 if not; prints nothing'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "keys" -d 'List keys in bytewise order, one a line'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "ttl" -d 'Print KEY\'s time to live in seconds: -1 if it never expires, -2 (exit 1) if missing'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "expire" -d 'Set or remove KEY\'s expiry (exit 1 if the key is missing)'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "count" -d 'Count the live keys (or those under --prefix)'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "incr" -d 'Add 1 (or BY) to the integer in KEY and print the result (a missing key counts as 0)'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "decr" -d 'Subtract 1 (or BY) from the integer in KEY and print the result (a missing key counts as 0)'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "append" -d 'Append VALUE to KEY\'s value (creating it) and print the new length'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "import" -d 'Load entries from FILE (or stdin) under one lock, with one sync at the end'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "export" -d 'Write every live entry (or those under --prefix) to stdout'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "hint" -d 'Rebuild the hint (the on-disk index that makes opening fast) from the data files'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "snapshot" -d 'Memory stores: write a snapshot and start a fresh AOF. With --to: write a consistent copy'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "merge" -d 'Compact the store: rewrite live records into new files, drop the rest'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "upgrade" -d 'Rewrite a store of an older format into the current one, crash-safely'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "inspect" -d 'Show data files, live and dead bytes, key count, hint state and merge advice'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "verify" -d 'Check every checksum and hint entry; exit 4 if anything is corrupt'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "bench" -d 'Run built-in workloads and print ops/s, MB/s and latency percentiles (in a temporary store, or in a new directory given with --dir)'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "serve" -d 'Serve the store to Redis clients (RESP2/RESP3) and HTTP clients until SIGTERM, SIGINT or SHUTDOWN'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "man" -d 'Print a man page (roff): hoard(1), or hoard-COMMAND(1) for one command'
complete -c hoard -n "__fish_hoard_using_subcommand help; and not __fish_seen_subcommand_from init put get del exists keys ttl expire count incr decr append import export hint snapshot merge upgrade inspect verify bench serve completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
