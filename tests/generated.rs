//! The shell completions in `completions/` and the man page in `man/` are
//! generated from the clap definitions; this test fails when they are out
//! of date. Regenerate with `UPDATE_GENERATED=1 cargo test --test generated`.

use std::path::Path;

use assert_cmd::Command;

fn check(args: &[&str], file: &str) {
    let output = Command::cargo_bin("hoard")
        .unwrap()
        .env_remove("HOARD_DIR")
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "hoard {args:?} failed");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &output.stdout).unwrap();
        return;
    }
    let kept = std::fs::read(&path).unwrap_or_default();
    assert!(
        kept == output.stdout,
        "{file} is out of date; regenerate it with `UPDATE_GENERATED=1 cargo test --test generated`"
    );
}

#[test]
fn completions_are_up_to_date() {
    check(&["completions", "bash"], "completions/hoard.bash");
    check(&["completions", "zsh"], "completions/_hoard");
    check(&["completions", "fish"], "completions/hoard.fish");
    check(&["completions", "elvish"], "completions/hoard.elv");
    check(&["completions", "powershell"], "completions/_hoard.ps1");
}

#[test]
fn man_page_is_up_to_date() {
    check(&["man"], "man/hoard.1");
}
