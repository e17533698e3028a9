//! The architecture, as a test: it reads `src/` and fails on an import that runs against the
//! layers, on two `deploy` files that import each other, and on a file that names a
//! `RetryPolicy` variant outside the places that own the policies.
//!
//! The layers, from the ground up (a module may import those before it):
//! model ← units ← stats ← pricing ← scenario ← sim ← sweep ← report ← cli.
//! Beside them: `deploy` may import model, units and scenario; `calibrate` model, units, stats,
//! scenario and `sim::rng`; `aws` and `prefect_api` model, deploy and (`aws`, whose Price List
//! client turns AWS's documents into rates) pricing. Nothing imports `cli` (only `main.rs`).
//!
//! An import is any path in code (comments and strings removed) that starts at `crate::`, or
//! at `super::`/`self::`/a child module and leaves its own module; `use` trees are expanded.
//! The checker is tried on a small tree with each kind of violation, so it is known to fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::root;

/// The layered modules, ground first.
const LAYERS: [&str; 9] = [
    "model", "units", "stats", "pricing", "scenario", "sim", "sweep", "report", "cli",
];

/// What a module beside the layers may import (besides itself).
fn beside(module: &str) -> Option<&'static [&'static str]> {
    Some(match module {
        "deploy" => &["model", "units", "scenario"],
        "calibrate" => &["model", "units", "stats", "scenario", "sim::rng"],
        "aws" => &["model", "deploy", "pricing"],
        "prefect_api" => &["model", "deploy"],
        _ => return None,
    })
}

/// Whether `from` (a top-level module) may import `path` (a module path from the crate root).
fn allowed(from: &str, path: &[String]) -> bool {
    let to = path[0].as_str();
    if to == from {
        return true;
    }
    if to == "cli" {
        return false;
    }
    if let Some(ok) = beside(from) {
        return ok.iter().any(|a| {
            let want: Vec<&str> = a.split("::").collect();
            path.len() >= want.len() && want.iter().zip(path).all(|(w, p)| *w == p)
        });
    }
    match (
        LAYERS.iter().position(|l| *l == from),
        LAYERS.iter().position(|l| *l == to),
    ) {
        (Some(f), Some(t)) => t < f,
        // a layer importing a module beside the layers: only `cli` may (it runs them all)
        (Some(_), None) => from == "cli",
        _ => false,
    }
}

/// Code without comments, string and char literals (they become spaces), so that neither a
/// path in a doc comment nor one in a message counts as an import.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if c == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')) && {
            let mut k = i + 1;
            while b.get(k) == Some(&b'#') {
                k += 1;
            }
            b.get(k) == Some(&b'"')
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        } {
            let mut hashes = 0;
            i += 1;
            while b[i] == b'#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            loop {
                if i >= b.len() {
                    break;
                }
                if b[i] == b'"' && (0..hashes).all(|h| b.get(i + 1 + h) == Some(&b'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push(' ');
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if c == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3;
            out.push(' ');
        } else if c == b'\'' && b.get(i + 1) == Some(&b'\\') {
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else {
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The full paths of a `use` tree (`a::{b::{c, d}, e}` → `a::b::c`, `a::b::d`, `a::e`).
fn expand(tree: &str) -> Vec<String> {
    // `x as y` names x
    let mut plain = String::new();
    let mut words = tree.split_whitespace().peekable();
    while let Some(w) = words.next() {
        if w == "as" {
            // the alias, and whatever closes after it (`y}` or `y,`)
            let alias = words.next().unwrap_or_default();
            plain.push_str(alias.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_'));
        } else {
            plain.push_str(w);
        }
    }
    let tree = plain;
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (k, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |x| format!("{prefix}{x}")))
        .collect()
}

/// The module path of a file under `src/` (`deploy/emit/mod.rs` → `deploy::emit`).
fn module_of(rel: &str) -> Vec<String> {
    let rel = rel.trim_end_matches(".rs");
    let mut m: Vec<String> = rel.split('/').map(str::to_string).collect();
    if m.last()
        .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
    {
        m.pop();
    }
    m
}

/// The inline modules (`mod tests { … }`) of code, as (name, start, end) byte ranges.
fn inline_modules(code: &str) -> Vec<(String, usize, usize)> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut s = 0;
    while let Some(k) = code[s..].find("mod ") {
        let at = s + k;
        s = at + 4;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let rest = &code[at + 4..];
        let name_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let after = rest[name_len..].trim_start();
        if !after.starts_with('{') {
            continue;
        }
        let open = at + 4 + name_len + (rest[name_len..].len() - after.len());
        let mut depth = 0;
        let mut end = code.len();
        for (i, ch) in code[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((rest[..name_len].to_string(), open, end));
    }
    out
}

/// The paths (from the crate root) a file imports.
fn imports(rel: &str, src: &str) -> Vec<Vec<String>> {
    let code = code_only(src);
    let file_module = module_of(rel);
    let inline = inline_modules(&code);
    // the module at byte `pos`: the file's, then the inline modules around it
    let here_at = |pos: usize| -> Vec<String> {
        let mut m = file_module.clone();
        m.extend(
            inline
                .iter()
                .filter(|(_, a, b)| *a < pos && pos < *b)
                .map(|(n, _, _)| n.clone()),
        );
        m
    };
    // child modules this file declares (`mod x;`), which `use x::…` names
    let children: BTreeSet<String> = code
        .split(';')
        .filter_map(|s| {
            let s = s.trim();
            let s = s.rsplit('\n').next().unwrap_or(s).trim();
            let s = s.strip_prefix("pub ").unwrap_or(s);
            let s = s.strip_prefix("pub(crate) ").unwrap_or(s);
            s.strip_prefix("mod ").map(|m| m.trim().to_string())
        })
        .collect();
    let mut raw: Vec<(usize, String)> = Vec::new();
    // `use` trees
    let mut s = 0;
    while let Some(k) = code[s..].find("use ") {
        let at = s + k;
        s = at + 4;
        let before = code[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = code[s..].find(';').map_or(code.len(), |e| s + e);
        raw.extend(expand(&code[s..end]).into_iter().map(|p| (at, p)));
        s = end;
    }
    // paths in code: `crate::a::b`, `super::a`
    for start in ["crate::", "super::"] {
        let mut s = 0;
        while let Some(k) = code[s..].find(start) {
            let at = s + k;
            let before = code[..at].chars().last();
            let tail = &code[at..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                raw.push((at, tail[..len].to_string()));
            }
            s = at + len.max(1);
        }
    }
    let mut out = Vec::new();
    for (at, p) in raw {
        let segs: Vec<&str> = p.split("::").filter(|x| !x.is_empty()).collect();
        let Some(first) = segs.first() else { continue };
        let here = here_at(at);
        let mut path: Vec<String> = match *first {
            "crate" => Vec::new(),
            "self" | "super" => here,
            c if children.contains(c) => here,
            _ => continue, // std, serde…
        };
        let mut rest = &segs[..];
        if *first == "crate" || *first == "self" {
            rest = &segs[1..];
        }
        while rest.first() == Some(&"super") {
            path.pop();
            rest = &rest[1..];
        }
        path.extend(rest.iter().map(|x| x.to_string()));
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

/// The file a module path from the crate root lands in (the deepest module it names).
fn file_of(tree: &BTreeMap<String, String>, path: &[String]) -> Option<String> {
    let mut dir = String::new();
    for seg in path {
        let file = format!("{dir}{seg}.rs");
        if tree.contains_key(&file) {
            return Some(file);
        }
        let sub = format!("{dir}{seg}/mod.rs");
        if tree.contains_key(&sub) {
            dir = format!("{dir}{seg}/");
            continue;
        }
        break;
    }
    (!dir.is_empty()).then(|| format!("{dir}mod.rs"))
}

/// Every violation in `tree` (path under `src/` → text).
fn check(tree: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut deploy_edges: BTreeSet<(String, String)> = BTreeSet::new();
    for (rel, src) in tree {
        let here = module_of(rel);
        let Some(top) = here.first() else { continue }; // lib.rs, main.rs
        if top == "main" {
            continue;
        }
        for path in imports(rel, src) {
            if !allowed(top, &path) {
                out.push(format!("{rel} imports {} (layers)", path.join("::")));
            }
            if top == "deploy"
                && path[0] == "deploy"
                && let Some(f) = file_of(tree, &path)
                && f != *rel
            {
                deploy_edges.insert((rel.clone(), f));
            }
        }
        // only the policies' own rooms name a variant
        let owns =
            rel == "sim/retry.rs" || rel == "sim/deadline.rs" || rel.starts_with("scenario/");
        if !owns {
            let code = code_only(src);
            for v in ["Prefect3", "Prefect1Lazarus", "Custom", "*"] {
                if code.contains(&format!("RetryPolicy::{v}")) {
                    out.push(format!(
                        "{rel} names RetryPolicy::{v} (ask the policy instead)"
                    ));
                }
            }
        }
    }
    for (a, b) in &deploy_edges {
        if a < b && deploy_edges.contains(&(b.clone(), a.clone())) {
            out.push(format!("{a} and {b} import each other"));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn read_tree(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            read_tree(&p, base, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read_to_string(&p).unwrap());
        }
    }
}

#[test]
fn the_layers_hold_deploy_has_no_cycle_and_only_the_policies_name_their_variants() {
    let src = root().join("src");
    let mut tree = BTreeMap::new();
    read_tree(&src, &src, &mut tree);
    assert!(tree.len() > 50, "read {} files", tree.len());
    // the checker sees real imports (a clean result is not a blind one)
    let seen: usize = tree.iter().map(|(r, s)| imports(r, s).len()).sum();
    assert!(seen > 300, "only {seen} imports found");
    let bad = check(&tree);
    assert!(
        bad.is_empty(),
        "{} violation(s):\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_checker_finds_each_kind_of_violation() {
    let tree: BTreeMap<String, String> = [
        // a lower layer importing a higher one, in a use tree and inline
        (
            "scenario/types.rs",
            "use crate::{model::SimTime, report::fmt::{pct as p, duration}};\nfn f() { crate::sim::run(); }",
        ),
        // a path in a comment or a string is not an import
        ("units.rs", "// crate::report::x\nconst S: &str = \"crate::cli::y\";"),
        // deploy importing sim; two deploy files importing each other (one through `super`)
        ("deploy/mod.rs", "pub mod plan;\npub mod spec;"),
        ("deploy/plan.rs", "use super::spec::Spec;\nuse crate::sim::x;"),
        ("deploy/spec.rs", "use crate::deploy::plan::Change;"),
        // a variant named outside the policies' rooms; inside them it is fine
        ("sweep/pick.rs", "fn f(p: &RetryPolicy) { matches!(p, RetryPolicy::Custom(_)); }"),
        ("sim/retry.rs", "fn g() { RetryPolicy::Prefect3 { }; }"),
        // calibrate may use sim::rng, not sim::engine; nothing imports cli
        ("calibrate/fit.rs", "use crate::sim::rng::Stream;\nuse crate::sim::engine::run;"),
        ("report/mod.rs", "use crate::cli::UserError;"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(
        check(&tree),
        [
            "calibrate/fit.rs imports sim::engine::run (layers)",
            "deploy/plan.rs and deploy/spec.rs import each other",
            "deploy/plan.rs imports sim::x (layers)",
            "report/mod.rs imports cli::UserError (layers)",
            "scenario/types.rs imports report::fmt::duration (layers)",
            "scenario/types.rs imports report::fmt::pct (layers)",
            "scenario/types.rs imports sim::run (layers)",
            "sweep/pick.rs names RetryPolicy::Custom (ask the policy instead)",
        ]
    );
}
