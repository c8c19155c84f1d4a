
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'hoard' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'hoard'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'hoard' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a store')
            [CompletionResult]::new('put', 'put', [CompletionResultType]::ParameterValue, 'Set KEY to VALUE (read from stdin when VALUE is omitted or `-`)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print the exact bytes of KEY''s value; several keys: one value a line (exit 1 if any is missing)')
            [CompletionResult]::new('del', 'del', [CompletionResultType]::ParameterValue, 'Delete keys and print how many existed (exit 1 if none did)')
            [CompletionResult]::new('exists', 'exists', [CompletionResultType]::ParameterValue, 'Exit 0 if KEY exists, 1 if not; prints nothing')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'List keys in bytewise order, one a line')
            [CompletionResult]::new('ttl', 'ttl', [CompletionResultType]::ParameterValue, 'Print KEY''s time to live in seconds: -1 if it never expires, -2 (exit 1) if missing')
            [CompletionResult]::new('expire', 'expire', [CompletionResultType]::ParameterValue, 'Set or remove KEY''s expiry (exit 1 if the key is missing)')
            [CompletionResult]::new('count', 'count', [CompletionResultType]::ParameterValue, 'Count the live keys (or those under --prefix)')
            [CompletionResult]::new('incr', 'incr', [CompletionResultType]::ParameterValue, 'Add 1 (or BY) to the integer in KEY and print the result (a missing key counts as 0)')
            [CompletionResult]::new('decr', 'decr', [CompletionResultType]::ParameterValue, 'Subtract 1 (or BY) from the integer in KEY and print the result (a missing key counts as 0)')
            [CompletionResult]::new('append', 'append', [CompletionResultType]::ParameterValue, 'Append VALUE to KEY''s value (creating it) and print the new length')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Load entries from FILE (or stdin) under one lock, with one sync at the end')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write every live entry (or those under --prefix) to stdout')
            [CompletionResult]::new('hint', 'hint', [CompletionResultType]::ParameterValue, 'Rebuild the hint (the on-disk index that makes opening fast) from the data files')
            [CompletionResult]::new('snapshot', 'snapshot', [CompletionResultType]::ParameterValue, 'Memory stores: write a snapshot and start a fresh AOF. With --to: write a consistent copy')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Compact the store: rewrite live records into new files, drop the rest')
            [CompletionResult]::new('upgrade', 'upgrade', [CompletionResultType]::ParameterValue, 'Rewrite a store of an older format into the current one, crash-safely')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show data files, live and dead bytes, key count, hint state and merge advice')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check every checksum and hint entry; exit 4 if anything is corrupt')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Run built-in workloads and print ops/s, MB/s and latency percentiles (in a temporary store, or in a new directory given with --dir)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the store to Redis clients (RESP2/RESP3) and HTTP clients until SIGTERM, SIGINT or SHUTDOWN')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print a man page (roff): hoard(1), or hoard-COMMAND(1) for one command')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hoard;init' {
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'The storage engine [default: bitcask]')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'When writes reach the disk: always (before each write is acknowledged), interval:MS, never [default: always]')
            [CompletionResult]::new('--max-file-size', '--max-file-size', [CompletionResultType]::ParameterName, 'Bitcask only: size at which a data file is closed and a new one begun (e.g. 64M, 1G, 4096) [default: 64M]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--force-manifest', '--force-manifest', [CompletionResultType]::ParameterName, 'Replace the damaged manifest (HOARD) of an existing store: the engine is read off its files, the damaged file is kept as HOARD.damaged-TIME; the data files are not touched')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;put' {
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Expire the key after this long: 500ms, 30s, 5m, 2h, 1d (a bare number is seconds)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--nx', '--nx', [CompletionResultType]::ParameterName, 'Only write if the key does not exist (exit 1 if it does)')
            [CompletionResult]::new('--xx', '--xx', [CompletionResultType]::ParameterName, 'Only write if the key exists (exit 1 if it does not), as Redis SET XX')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;get' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('-0', '-0', [CompletionResultType]::ParameterName, 'End every value with NUL instead of newline (also with a single key)')
            [CompletionResult]::new('--null', '--null', [CompletionResultType]::ParameterName, 'End every value with NUL instead of newline (also with a single key)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;del' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;exists' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;keys' {
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Only keys starting with these bytes')
            [CompletionResult]::new('--glob', '--glob', [CompletionResultType]::ParameterName, 'Only keys matching this pattern, with Redis''s rules: * ? [abc] [^a] [a-z] \x')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many keys')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--with-values', '--with-values', [CompletionResultType]::ParameterName, 'Print each key with its value: key<TAB>value[<TAB>expires_at_ms] as `export` writes TSV (JSON Lines with --json)')
            [CompletionResult]::new('-0', '-0', [CompletionResultType]::ParameterName, 'Separate keys with NUL instead of newline (for keys holding newlines; pairs with `xargs -0`)')
            [CompletionResult]::new('--null', '--null', [CompletionResultType]::ParameterName, 'Separate keys with NUL instead of newline (for keys holding newlines; pairs with `xargs -0`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;ttl' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--ms', '--ms', [CompletionResultType]::ParameterName, 'Print milliseconds instead of seconds (Redis PTTL)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;expire' {
            [CompletionResult]::new('--at', '--at', [CompletionResultType]::ParameterName, 'Expire at this Unix time, in seconds (Redis EXPIREAT); a time already past deletes the key')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--persist', '--persist', [CompletionResultType]::ParameterName, 'Remove the expiry instead (exit 1 if the key had none, as Redis PERSIST)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;count' {
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Only keys starting with these bytes')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;incr' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;decr' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;append' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;import' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'The input''s format [default: rdb if the input starts as an RDB file does, else from FILE''s extension: .tsv, .jsonl/.ndjson/.json, .resp, .rdb; else tsv]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--skip-other-types', '--skip-other-types', [CompletionResultType]::ParameterName, 'With --format rdb: import the strings of database 0 and count the keys of other types and databases instead of refusing the file')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;export' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'The output''s format [default: tsv; jsonl with --json]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Only keys starting with these bytes')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;hint' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;snapshot' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Write a consistent copy of the store into this new directory (either engine)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;merge' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only report what a merge would reclaim; change nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;upgrade' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;inspect' {
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Show where this key''s newest record lives instead (exit 1 if missing)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;verify' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--repair', '--repair', [CompletionResultType]::ParameterName, 'Salvage: back up damaged files, keep every record that passes its checksum, rebuild the hint')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With --repair: only say what the repair would do')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;bench' {
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'Which engine to measure')
            [CompletionResult]::new('--keys', '--keys', [CompletionResultType]::ParameterName, 'Number of keys')
            [CompletionResult]::new('--key-size', '--key-size', [CompletionResultType]::ParameterName, 'Bytes per key (at least 8)')
            [CompletionResult]::new('--value-size', '--value-size', [CompletionResultType]::ParameterName, 'Bytes per value')
            [CompletionResult]::new('--workload', '--workload', [CompletionResultType]::ParameterName, 'Workloads to run, in order')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Threads sharing one open store in read, mixed and durable; a list (e.g. 1,2,4) runs each once per count, a row apiece')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Keys per lookup in read: N > 1 reads through one `get_many` call per N keys (as Redis MGET or pipelined GETs do), which overlaps the memory reads of their lookups; each get''s latency is then its batch''s time divided by N')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;serve' {
            [CompletionResult]::new('--resp', '--resp', [CompletionResultType]::ParameterName, 'Address for Redis clients (port 0: any free port, printed at start-up); `none` for no RESP listener [default: 127.0.0.1:6379]')
            [CompletionResult]::new('--http', '--http', [CompletionResultType]::ParameterName, 'Address for HTTP clients, e.g. 127.0.0.1:8080 (no HTTP listener without it)')
            [CompletionResult]::new('--requirepass-file', '--requirepass-file', [CompletionResultType]::ParameterName, 'File holding the password clients must give (AUTH, HELLO AUTH); required to listen on a non-loopback address')
            [CompletionResult]::new('--http-token-file', '--http-token-file', [CompletionResultType]::ParameterName, 'File holding the bearer token HTTP clients must send; required (with a password) for HTTP on a non-loopback address')
            [CompletionResult]::new('--maxclients', '--maxclients', [CompletionResultType]::ParameterName, 'Most clients connected at once')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Close a client idle this many seconds (0: never)')
            [CompletionResult]::new('--query-buffer-limit', '--query-buffer-limit', [CompletionResultType]::ParameterName, 'Most bytes of unparsed input one client may hold (e.g. 1G)')
            [CompletionResult]::new('--client-buffers-limit', '--client-buffers-limit', [CompletionResultType]::ParameterName, 'Most bytes of unparsed input all clients together may hold')
            [CompletionResult]::new('--reply-limit', '--reply-limit', [CompletionResultType]::ParameterName, 'Most bytes of a reply built from many items (KEYS, MGET, SCAN, EXEC)')
            [CompletionResult]::new('--repl-backlog-size', '--repl-backlog-size', [CompletionResultType]::ParameterName, 'Most bytes of the replication stream kept for replicas that reconnect or fall behind')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads [default: one per core but one]')
            [CompletionResult]::new('--snapshot-every', '--snapshot-every', [CompletionResultType]::ParameterName, 'Memory stores: write a snapshot this often if anything changed (e.g. 1h; 0: never)')
            [CompletionResult]::new('--merge-every', '--merge-every', [CompletionResultType]::ParameterName, 'Bitcask stores: look for files worth merging this often (e.g. 10s; 0: never)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;completions' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;man' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: $HOARD_DIR, else ./data]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a busy store before giving up with exit code 3 (0 = fail at once)')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'Print the names of the commands that have a page, one a line')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON (JSON Lines for streams such as `keys`)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no warnings or notices on stderr (errors are still printed)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'hoard;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create a store')
            [CompletionResult]::new('put', 'put', [CompletionResultType]::ParameterValue, 'Set KEY to VALUE (read from stdin when VALUE is omitted or `-`)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print the exact bytes of KEY''s value; several keys: one value a line (exit 1 if any is missing)')
            [CompletionResult]::new('del', 'del', [CompletionResultType]::ParameterValue, 'Delete keys and print how many existed (exit 1 if none did)')
            [CompletionResult]::new('exists', 'exists', [CompletionResultType]::ParameterValue, 'Exit 0 if KEY exists, 1 if not; prints nothing')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'List keys in bytewise order, one a line')
            [CompletionResult]::new('ttl', 'ttl', [CompletionResultType]::ParameterValue, 'Print KEY''s time to live in seconds: -1 if it never expires, -2 (exit 1) if missing')
            [CompletionResult]::new('expire', 'expire', [CompletionResultType]::ParameterValue, 'Set or remove KEY''s expiry (exit 1 if the key is missing)')
            [CompletionResult]::new('count', 'count', [CompletionResultType]::ParameterValue, 'Count the live keys (or those under --prefix)')
            [CompletionResult]::new('incr', 'incr', [CompletionResultType]::ParameterValue, 'Add 1 (or BY) to the integer in KEY and print the result (a missing key counts as 0)')
            [CompletionResult]::new('decr', 'decr', [CompletionResultType]::ParameterValue, 'Subtract 1 (or BY) from the integer in KEY and print the result (a missing key counts as 0)')
            [CompletionResult]::new('append', 'append', [CompletionResultType]::ParameterValue, 'Append VALUE to KEY''s value (creating it) and print the new length')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Load entries from FILE (or stdin) under one lock, with one sync at the end')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write every live entry (or those under --prefix) to stdout')
            [CompletionResult]::new('hint', 'hint', [CompletionResultType]::ParameterValue, 'Rebuild the hint (the on-disk index that makes opening fast) from the data files')
            [CompletionResult]::new('snapshot', 'snapshot', [CompletionResultType]::ParameterValue, 'Memory stores: write a snapshot and start a fresh AOF. With --to: write a consistent copy')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Compact the store: rewrite live records into new files, drop the rest')
            [CompletionResult]::new('upgrade', 'upgrade', [CompletionResultType]::ParameterValue, 'Rewrite a store of an older format into the current one, crash-safely')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show data files, live and dead bytes, key count, hint state and merge advice')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check every checksum and hint entry; exit 4 if anything is corrupt')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Run built-in workloads and print ops/s, MB/s and latency percentiles (in a temporary store, or in a new directory given with --dir)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the store to Redis clients (RESP2/RESP3) and HTTP clients until SIGTERM, SIGINT or SHUTDOWN')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print a man page (roff): hoard(1), or hoard-COMMAND(1) for one command')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'hoard;help;init' {
            break
        }
        'hoard;help;put' {
            break
        }
        'hoard;help;get' {
            break
        }
        'hoard;help;del' {
            break
        }
        'hoard;help;exists' {
            break
        }
        'hoard;help;keys' {
            break
        }
        'hoard;help;ttl' {
            break
        }
        'hoard;help;expire' {
            break
        }
        'hoard;help;count' {
            break
        }
        'hoard;help;incr' {
            break
        }
        'hoard;help;decr' {
            break
        }
        'hoard;help;append' {
            break
        }
        'hoard;help;import' {
            break
        }
        'hoard;help;export' {
            break
        }
        'hoard;help;hint' {
            break
        }
        'hoard;help;snapshot' {
            break
        }
        'hoard;help;merge' {
            break
        }
        'hoard;help;upgrade' {
            break
        }
        'hoard;help;inspect' {
            break
        }
        'hoard;help;verify' {
            break
        }
        'hoard;help;bench' {
            break
        }
        'hoard;help;serve' {
            break
        }
        'hoard;help;completions' {
            break
        }
        'hoard;help;man' {
            break
        }
        'hoard;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
