//! The shell completions in `completions/` and the man page in `man/` are
//! generated from the clap definitions; this test fails when they are out
//! of date. Regenerate with `UPDATE_GENERATED=1 cargo test --test generated`.
//! There is one man page per subcommand (`hoard man --list` names them).

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
fn man_pages_are_up_to_date() {
    check(&["man"], "man/hoard.1");
    let names = Command::cargo_bin("hoard")
        .unwrap()
        .args(["man", "--list"])
        .output()
        .unwrap();
    assert!(names.status.success());
    let names: Vec<String> = String::from_utf8(names.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(names.len() > 10, "{names:?}");
    let mut expected = vec!["hoard.1".to_string()];
    for name in &names {
        check(&["man", name], &format!("man/hoard-{name}.1"));
        expected.push(format!("hoard-{name}.1"));
    }
    // Every page in man/ belongs to a command that exists.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !expected.contains(&name) {
            assert!(
                std::env::var_os("UPDATE_GENERATED").is_some(),
                "man/{name} belongs to no command; delete it"
            );
            std::fs::remove_file(dir.join(&name)).unwrap();
        }
    }
}

#[test]
fn every_subcommand_page_has_options_exit_status_environment_and_files() {
    let page = |args: &[&str]| {
        let out = Command::cargo_bin("hoard")
            .unwrap()
            .env_remove("HOARD_DIR")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let main = page(&["man"]);
    for name in ["put", "get", "import", "export", "verify"] {
        // The main page points at pages that exist.
        assert!(main.contains(&format!("hoard\\-{name}(1)")), "{name}");
        let sub = page(&["man", name]);
        assert!(sub.starts_with(".ie") || sub.starts_with(".TH"), "{name}");
        assert!(
            sub.contains(&format!(".TH hoard-{name} 1")),
            "{name}: {sub}"
        );
        for heading in [
            ".SH OPTIONS",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(sub.contains(heading), "hoard-{name}(1) lacks {heading}");
        }
    }
    assert!(
        page(&["man", "import"]).contains("jsonl"),
        "formats in hoard-import(1)"
    );
    Command::cargo_bin("hoard")
        .unwrap()
        .args(["man", "nonsense"])
        .assert()
        .code(2);
}
