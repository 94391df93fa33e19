//! The documentation, kept true by running it:
//!
//! - the README's quickstart: its shell blocks, as written, against a freshly started kassa (the
//!   first block is the server's command line, the others run in one `bash`), with a session
//!   created and its hosted page answering 200;
//! - `docs/configuration.md` against `kassa <command> --help` of every command clap knows: the
//!   same flags and positional arguments under each command's heading, each with the environment
//!   variable, the default and the words `--help` gives it; and every variable kassa reads from
//!   the environment alone documented; every event type `kassa trigger --list` knows named in
//!   docs/webhooks.md;
//! - every relative link and `#anchor` in README.md, CONTRIBUTING.md and docs/*.md resolving
//!   inside the repository, and no markdown file of the repository pointing at what is outside
//!   it (`../shared/…`, `SPEC §…`, issue numbers).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::Kassa;

const BIN: &str = env!("CARGO_BIN_EXE_kassa");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text under the level-2 heading `title` (up to the next level-2 heading).
fn section<'a>(markdown: &'a str, title: &str) -> &'a str {
    let start = markdown
        .lines()
        .scan(0, |at, line| {
            let here = *at;
            *at += line.len() + 1;
            Some((here, line))
        })
        .find(|(_, line)| line.trim_end() == format!("## {title}"))
        .map(|(at, line)| at + line.len() + 1)
        .unwrap_or_else(|| panic!("no `## {title}` heading"));
    let rest = &markdown[start.min(markdown.len())..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// The fenced code blocks of `text` whose info string is `lang`, in order.
fn code_blocks(text: &str, lang: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<(bool, String)> = None;
    for line in text.lines() {
        match &mut current {
            None if line.starts_with("```") => current = Some((line[3..].trim() == lang, String::new())),
            None => {}
            Some(_) if line.starts_with("```") => {
                let (wanted, body) = current.take().unwrap();
                if wanted {
                    blocks.push(body);
                }
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed code block");
    blocks
}

// ---------------------------------------------------------------------------------------------
// The quickstart
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_readme_quickstart_works_as_written() {
    for tool in ["bash", "curl", "jq"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap();
        assert!(found.status.success(), "the quickstart needs `{tool}`, which is not installed");
    }
    let readme = read(&repo().join("README.md"));
    let blocks = code_blocks(section(&readme, "Quickstart"), "sh");
    assert!(blocks.len() >= 2, "the quickstart has the server's block and at least one more");

    // The first block starts the server: `KASSA_SECRET_KEY=sk_test_… kassa serve`.
    let server = blocks[0].trim();
    let key = server
        .split_whitespace()
        .find_map(|w| w.strip_prefix("KASSA_SECRET_KEY="))
        .unwrap_or_else(|| panic!("the first quickstart block sets KASSA_SECRET_KEY: {server}"));
    assert!(server.ends_with("kassa serve"), "the first quickstart block is `… kassa serve`: {server}");

    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &[], &[("KASSA_SECRET_KEY", key)]);
    let url = format!("http://{addr}");

    // The other blocks, as written, in one shell (variables carry over, as in one terminal).
    let script = format!("set -euo pipefail\n{}", blocks[1..].join("\n"));
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("KASSA_URL", &url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the quickstart failed ({}):\n{stdout}\n{stderr}\n{}",
        out.status,
        kassa.stderr()
    );

    // It says where to pay, and that page is there.
    let page = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Pay at "))
        .unwrap_or_else(|| panic!("no `Pay at …` line in:\n{stdout}"))
        .trim()
        .to_owned();
    assert!(page.starts_with(&format!("{url}/pay/cs_test_")), "{page}");
    let client = kassa::client::builder().build().unwrap();
    let r = client.get(&page).send().await.unwrap();
    assert_eq!(r.status(), 200, "{page}");
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"data-testid="email-input""#), "the page asks for the e-mail");
    assert!(html.contains("$39.98"), "two T-shirts at $19.99");

    // The session exists, open, for the key the quickstart used; its last block printed that.
    let id = page.rsplit('/').next().unwrap();
    let s: serde_json::Value = client
        .get(format!("{url}/v1/checkout/sessions/{id}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "open", "{s}");
    assert_eq!(s["amount_total"], 3998, "{s}");
    assert!(stdout.contains(r#""status": "open""#), "the last block shows the session open:\n{stdout}");
    kassa.terminate();
}

// ---------------------------------------------------------------------------------------------
// docs/configuration.md against --help
// ---------------------------------------------------------------------------------------------

/// One flag or positional argument as `--help` (or the documentation) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    env: Option<String>,
    default: Option<String>,
    text: String,
}

fn help(args: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(args).arg("--help");
    for (k, _) in std::env::vars() {
        if k.starts_with("KASSA_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "kassa {} --help: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of the help's section `name` (`Commands:`, `Arguments:`, `Options:`).
fn help_section<'a>(help: &'a str, name: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| l.trim_end() != name)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

/// Every command path clap knows (`["serve"]`, `["accounts", "keys", "create"]`, …) with its help,
/// from `kassa --help` down.
fn commands() -> Vec<(Vec<String>, String)> {
    let mut found = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        let subcommands: Vec<String> = help_section(&text, "Commands:")
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(str::to_owned)
            .collect();
        if subcommands.is_empty() {
            found.push((path, text));
        } else {
            if !path.is_empty() {
                found.push((path.clone(), text));
            }
            for name in subcommands {
                let mut sub = path.clone();
                sub.push(name);
                todo.push(sub);
            }
        }
    }
    found.sort();
    found
}

fn normalize(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.trim_end_matches('.').to_owned()
}

/// Take `[name: value]` out of `text` (clap's `[env: X=]`, `[default: Y]`).
fn take_annotation(text: &mut String, name: &str) -> Option<String> {
    let open = format!("[{name}: ");
    let start = text.find(&open)?;
    let end = start + text[start..].find(']')?;
    let value = text[start + open.len()..end].to_owned();
    text.replace_range(start..=end, "");
    Some(value)
}

/// The arguments of a command's `--help`: `--flag` or `<ARG>`/`[ARG]` → what it says of it.
fn help_settings(text: &str) -> BTreeMap<String, Setting> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for section in ["Arguments:", "Options:"] {
        for line in help_section(text, section) {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let starts_entry = indent <= 6
                && (trimmed.starts_with("--")
                    || trimmed.starts_with('<')
                    || trimmed.starts_with('[')
                    || (trimmed.starts_with('-') && trimmed.get(2..4) == Some(", ")));
            if starts_entry {
                entries.push((trimmed.to_owned(), String::new()));
            } else if let Some((_, rest)) = entries.last_mut() {
                rest.push(' ');
                rest.push_str(trimmed);
            }
        }
    }
    let mut settings = BTreeMap::new();
    for (head, rest) in entries {
        let mut words = head.split_whitespace().peekable();
        let mut name = words.next().unwrap().trim_end_matches(',').to_owned();
        if name.starts_with('-') && !name.starts_with("--") {
            // `-h, --help`
            name = words.next().unwrap_or_default().to_owned();
        }
        // The value's name (`<LISTEN>`, `[EVENT]`, `<KEY_ID>...`) is not part of the text.
        if name.starts_with("--") {
            while words.peek().is_some_and(|w| w.starts_with('<') || w.starts_with('[') && !w.contains(':')) {
                words.next();
            }
        }
        let name =
            name.trim_matches(|c| c == '<' || c == '>' || c == '[' || c == ']').trim_end_matches("...");
        let name = if head.starts_with('<') || head.starts_with('[') {
            format!("<{name}>")
        } else {
            name.to_owned()
        };
        let mut text = format!("{} {rest}", words.collect::<Vec<_>>().join(" "));
        let env = take_annotation(&mut text, "env")
            .map(|e| e.trim_end_matches('=').split('=').next().unwrap().to_owned());
        let default = take_annotation(&mut text, "default");
        take_annotation(&mut text, "possible values");
        if name == "--help" || name == "--version" {
            continue;
        }
        settings.insert(name, Setting { env, default, text: normalize(&text) });
    }
    settings
}

/// The settings a section of docs/configuration.md lists: bullets of the form
/// ``- **`--flag`** (`ENV_VAR`; default `value`): words`` (the parenthesis optional, either part
/// of it optional), positional arguments as ``- **`<NAME>`**: words``, and variables without a
/// flag as ``- **`ENV_VAR`** (environment only): words``.
fn doc_settings(text: &str) -> BTreeMap<String, Setting> {
    let mut bullets: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(b) = line.strip_prefix("- **`") {
            bullets.push(b.to_owned());
        } else if line.starts_with("  ") && !line.trim().is_empty() && !bullets.is_empty() {
            let last = bullets.last_mut().unwrap();
            last.push(' ');
            last.push_str(line.trim());
        } else {
            // A blank line or anything else ends the bullet.
            if !line.starts_with("  ") {
                bullets.push(String::new());
            }
        }
    }
    let mut settings = BTreeMap::new();
    for b in bullets.into_iter().filter(|b| !b.is_empty()) {
        let (name, rest) = b.split_once("`**").unwrap_or_else(|| panic!("a setting's bullet: {b}"));
        let (meta, words) = match rest.strip_prefix(" (") {
            Some(r) => {
                let (meta, words) =
                    r.split_once("): ").unwrap_or_else(|| panic!("`(…): ` after {name}: {b}"));
                (meta, words)
            }
            None => ("", rest.strip_prefix(": ").unwrap_or_else(|| panic!("`: ` after {name}: {b}"))),
        };
        let mut env = None;
        let mut default = None;
        for part in meta.split("; ").filter(|p| !p.is_empty()) {
            if let Some(d) = part.strip_prefix("default `") {
                default = Some(d.trim_end_matches('`').to_owned());
            } else if part == "environment only" {
                env = Some(name.to_owned());
            } else if part.starts_with('`') && part.ends_with('`') {
                env = Some(part.trim_matches('`').to_owned());
            } else {
                panic!(
                    "`{part}` in the bullet of {name}: an environment variable in backticks, `default `…``, or `environment only`"
                );
            }
        }
        let previous = settings.insert(name.to_owned(), Setting { env, default, text: normalize(words) });
        assert!(previous.is_none(), "{name} is listed twice in one section");
    }
    settings
}

#[test]
fn the_configuration_reference_is_what_help_says() {
    let doc = read(&repo().join("docs/configuration.md"));
    let global = doc_settings(section(&doc, "Global options"));
    assert!(global.contains_key("--log-format"), "the global options include --log-format");

    let mut problems = Vec::new();
    let mut documented_env: BTreeSet<String> = global.values().filter_map(|s| s.env.clone()).collect();
    for (path, text) in commands() {
        let command = format!("kassa {}", path.join(" "));
        let in_help = help_settings(&text);
        let is_leaf = help_section(&text, "Commands:").is_empty();
        let in_doc =
            if is_leaf { doc_settings(section(&doc, &format!("`{command}`"))) } else { BTreeMap::new() };
        for (name, want) in &in_help {
            let got = in_doc.get(name).or_else(|| global.get(name));
            match got {
                None => problems.push(format!("{command} {name}: in --help, not in docs/configuration.md")),
                Some(got) if got != want => problems.push(format!(
                    "{command} {name}: docs/configuration.md says\n    {got:?}\n  --help says\n    {want:?}"
                )),
                Some(_) => {}
            }
        }
        for (name, setting) in &in_doc {
            documented_env.extend(setting.env.clone());
            let env_only = setting.env.as_deref() == Some(name.as_str());
            if !env_only && !in_help.contains_key(name) {
                problems.push(format!("{command} {name}: in docs/configuration.md, not in --help"));
            }
        }
    }

    // What kassa reads from the environment without a flag: `std::env::var("…")` in its source,
    // and RUST_LOG (read by the log filter).
    let mut env_only = BTreeSet::from(["RUST_LOG".to_owned()]);
    for file in rust_files(&repo().join("crates/kassa/src")) {
        let source = read(&file);
        for (i, _) in source.match_indices("env::var(\"") {
            let rest = &source[i + "env::var(\"".len()..];
            env_only.insert(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    for var in env_only {
        if !documented_env.contains(&var) {
            problems.push(format!("{var}: read from the environment, not in docs/configuration.md"));
        }
    }
    assert!(problems.is_empty(), "docs/configuration.md and --help disagree:\n{}", problems.join("\n"));
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn every_event_type_is_in_the_webhooks_page() {
    let out = Command::new(BIN).args(["trigger", "--list", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let page = read(&repo().join("docs/webhooks.md"));
    let missing: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .filter(|t| !page.contains(&format!("`{t}`")))
        .collect();
    assert!(missing.is_empty(), "event types kassa emits that docs/webhooks.md does not name: {missing:?}");
}

// ---------------------------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------------------------

/// The documentation a reader follows links through.
fn documentation() -> Vec<PathBuf> {
    let root = repo();
    let mut files = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Markdown with its fenced code blocks and inline code blanked out (links there are not links).
fn prose(markdown: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if fenced {
            out.push('\n');
            continue;
        }
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            }
            out.push(if in_code || c == '`' { ' ' } else { c });
        }
        out.push('\n');
    }
    out
}

/// The targets of `[text](target)` links.
fn links(markdown: &str) -> Vec<String> {
    let text = prose(markdown);
    let mut found = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            let target = rest[..end].split_whitespace().next().unwrap_or_default();
            found.push(target.to_owned());
        }
    }
    found
}

/// GitHub's anchors for a file's headings: lower case, punctuation dropped (but `-` and `_`),
/// spaces as `-`, and `-1`, `-2`, … after repeats.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        anchors.insert(if *n == 0 { slug.clone() } else { format!("{slug}-{n}") });
        *n += 1;
    }
    anchors
}

#[test]
fn every_link_in_the_documentation_resolves() {
    let root = repo();
    let mut broken = Vec::new();
    for file in documentation() {
        let markdown = read(&file);
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        for target in links(&markdown) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let dest = if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
            let Ok(dest) = dest.canonicalize() else {
                broken.push(format!("{name}: {target}: no such file"));
                continue;
            };
            if !dest.starts_with(&root) {
                broken.push(format!("{name}: {target}: outside the repository"));
                continue;
            }
            if let Some(anchor) = anchor {
                let is_markdown = dest.extension().is_some_and(|e| e == "md");
                if !is_markdown || !anchors(&read(&dest)).contains(anchor) {
                    broken.push(format!("{name}: {target}: no heading with that anchor"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_documentation_points_at_nothing_outside_the_repository() {
    let root = repo();
    let files = markdown_files(&root);
    assert!(files.len() > documentation().len(), "{files:?}");
    let mut found = Vec::new();
    for file in files {
        let text = read(&file);
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let issue_number = lower
                .match_indices("issue ")
                .any(|(i, m)| lower[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()));
            if line.contains("../shared") || line.contains("SPEC §") || issue_number {
                found.push(format!("{name}:{}: {line}", n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "references to what a reader of the repository cannot see:\n{}",
        found.join("\n")
    );
}

/// Every markdown file of the repository (not in `node_modules`, `target` or hidden directories).
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "node_modules" && name != "target" {
                files.extend(markdown_files(&path));
            }
        } else if name.ends_with(".md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn the_anchor_rules_are_githubs() {
    let a = anchors("# Native routes and `/v1`\n## SQLite: backups\n## A\n## A\n```\n# not a heading\n```\n");
    assert_eq!(a, BTreeSet::from(["native-routes-and-v1", "sqlite-backups", "a", "a-1"].map(str::to_owned)));
    assert_eq!(links("see [x](a.md#b) and `[y](c.md)`\n```\n[z](d.md)\n```\n"), vec!["a.md#b".to_owned()]);
}
