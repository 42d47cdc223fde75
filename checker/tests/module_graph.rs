//! The checker's modules import each other one way: no file reaches back
//! to a file that reaches it, and the layers the checker is built in keep
//! their order (the command line over grading, grading over the runner,
//! the runner over the checks, the checks over the clients and the
//! servers, and those over the leaf types).
//!
//! Read from the sources as text: every `use` and every `crate::`,
//! `super::` or `self::` path outside a file's tests names the file of the
//! module it reaches. The same holds for `board`, which every server
//! shares. A cycle is reported with the files on it and the names each
//! takes from the next.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One crate's files: module path (`["report", "text"]`) → file.
struct Crate {
    root: PathBuf,
    modules: BTreeMap<Vec<String>, PathBuf>,
}

impl Crate {
    fn read(root: &Path) -> Crate {
        let mut modules = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("a source directory") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|extension| extension != "rs") {
                    continue;
                }
                let relative = path.strip_prefix(root).expect("under the root");
                let mut segments: Vec<String> = relative
                    .with_extension("")
                    .iter()
                    .map(|part| part.to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    segments.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    segments.pop();
                }
                modules.insert(segments, path);
            }
        }
        Crate {
            root: root.to_path_buf(),
            modules,
        }
    }

    /// The file a path from module `from` reaches: the longest module
    /// prefix of the path that is a file of the crate.
    fn resolve(&self, from: &[String], path: &[String]) -> Option<Vec<String>> {
        let mut absolute: Vec<String> = match path.first().map(String::as_str) {
            Some("crate") => Vec::new(),
            Some("self") => from.to_vec(),
            Some("super") => from[..from.len().saturating_sub(1)].to_vec(),
            Some(_) => from.to_vec(),
            None => return None,
        };
        let rest = match path.first().map(String::as_str) {
            Some("crate" | "self" | "super") => &path[1..],
            _ => path,
        };
        let mut rest = rest.iter().peekable();
        while rest.peek().map(|s| s.as_str()) == Some("super") {
            absolute.pop();
            rest.next();
        }
        absolute.extend(rest.cloned());
        (0..=absolute.len())
            .rev()
            .map(|n| absolute[..n].to_vec())
            .find(|prefix| self.modules.contains_key(prefix))
    }
}

/// The source without its comments and without its tests (a `#[cfg(test)]`
/// module ends every file that has one).
fn code(source: &str) -> String {
    let source = match source.find("#[cfg(test)]") {
        Some(at) => &source[..at],
        None => source,
    };
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a `use` tree (`crate::a::{b, c::{d, e}}`) into its paths.
fn use_paths(tree: &str) -> Vec<Vec<String>> {
    fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        let tree = tree.trim();
        if tree.is_empty() {
            return;
        }
        match tree.find('{') {
            None => {
                let mut path = prefix.to_vec();
                let name = tree.split(" as ").next().unwrap_or(tree);
                path.extend(
                    name.split("::")
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty() && s != "*"),
                );
                out.push(path);
            }
            Some(open) => {
                let mut path = prefix.to_vec();
                path.extend(
                    tree[..open]
                        .split("::")
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty()),
                );
                let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
                let mut depth = 0;
                let mut start = 0;
                for (at, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            expand(&path, &inner[start..at], out);
                            start = at + 1;
                        }
                        _ => {}
                    }
                }
                expand(&path, &inner[start..], out);
            }
        }
    }
    let mut out = Vec::new();
    expand(&[], tree, &mut out);
    out
}

/// Every module path a file's code names: its `use` trees, and the
/// `crate::`/`super::`/`self::` paths in expressions and types.
fn named_paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(end) = rest.find(';') else { break };
        let tree = &rest[..end];
        // Prose that says "use" (in a string, say) is not a use tree.
        let is_tree = tree
            .chars()
            .all(|c| c.is_alphanumeric() || "_:{},* \n".contains(c));
        if !is_tree || tree.matches('{').count() != tree.matches('}').count() {
            continue;
        }
        for path in use_paths(tree) {
            let first = path.first().map(String::as_str);
            if matches!(first, Some("crate" | "super" | "self"))
                || first.is_some_and(|first| children.contains(first))
            {
                paths.push(path);
            }
        }
    }
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .collect();
    for word in words {
        if word.starts_with("crate::") || word.starts_with("super::") || word.starts_with("self::")
        {
            paths.push(
                word.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
    }
    paths
}

/// file → the files it imports, each with the names it takes.
type Graph = BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>>;

fn graph(krate: &Crate) -> Graph {
    let mut graph = Graph::new();
    for (module, file) in &krate.modules {
        let code = code(&std::fs::read_to_string(file).expect("a readable source"));
        let children: BTreeSet<String> = code
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                let line = line.strip_prefix("pub ").unwrap_or(line);
                let line = line.strip_prefix("pub(crate) ").unwrap_or(line);
                line.strip_prefix("mod ")?
                    .strip_suffix(';')
                    .map(str::to_owned)
            })
            .collect();
        let edges = graph.entry(module.clone()).or_default();
        for path in named_paths(&code, &children) {
            let Some(target) = krate.resolve(module, &path) else {
                continue;
            };
            // A module's own children are its parts, not an import back up;
            // the crate root only declares the modules.
            if &target == module || target.is_empty() {
                continue;
            }
            let names = edges.entry(target).or_default();
            if let Some(name) = path
                .last()
                .filter(|name| !["crate", "super", "self"].contains(&name.as_str()))
            {
                names.insert(name.clone());
            }
        }
    }
    graph
}

/// The strongly connected components of more than one file (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<Vec<String>>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        found: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a Vec<String>) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        for next in state
            .graph
            .get(node)
            .into_iter()
            .flat_map(|edges| edges.keys())
        {
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low[node].min(state.low[next]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.low[node].min(state.index[next]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(top);
                component.push(top.clone());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.found
}

/// The file as the workspace names it: `checker/src/report/text.rs`.
fn file_name(krate: &Crate, module: &[String]) -> String {
    let workspace = krate.root.ancestors().nth(2).unwrap_or(&krate.root);
    let file = &krate.modules[module];
    file.strip_prefix(workspace)
        .unwrap_or(file)
        .display()
        .to_string()
}

fn assert_acyclic(krate: &Crate) -> Graph {
    let graph = graph(krate);
    let mut report = Vec::new();
    for component in cycles(&graph) {
        report.push(format!("a cycle of {} files:", component.len()));
        let members: BTreeSet<&Vec<String>> = component.iter().collect();
        for from in &component {
            for (to, names) in &graph[from] {
                if members.contains(to) {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    report.push(format!(
                        "  {} -> {}: {}",
                        file_name(krate, from),
                        file_name(krate, to),
                        names.join(", ")
                    ));
                }
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
    graph
}

fn source(package: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(package)
        .join("src")
}

#[test]
fn the_checkers_modules_form_no_cycle() {
    assert_acyclic(&Crate::read(&source("checker")));
}

#[test]
fn boards_modules_form_no_cycle() {
    assert_acyclic(&Crate::read(&source("board")));
}

/// The layers, top down: a module may import from the layers below its
/// own, never from one above.
#[test]
fn imports_flow_down_the_layers() {
    let krate = Crate::read(&source("checker"));
    let graph = assert_acyclic(&krate);
    // What the lower layers may never import: the command line, grading,
    // the runner and the outputs sit above every check, client and server.
    let above = [
        "cli", "grade", "runner", "report", "watch", "attack", "author", "bench",
    ];
    let below = [
        "checks",
        "ctx",
        "client",
        "server",
        "request",
        "failure",
        "sent",
        "issued",
        "rows",
        "users",
        "run_env",
        "graded",
        "plan",
        "progress",
        "course",
        "cookie",
        "json",
        "cargo",
        "redis_server",
        "exit_status",
    ];
    let mut broken = Vec::new();
    for (from, edges) in &graph {
        let Some(first) = from.first() else { continue };
        for to in edges.keys() {
            let Some(target) = to.first() else { continue };
            let down_to_up = below.contains(&first.as_str()) && above.contains(&target.as_str());
            let to_the_command_line = target == "cli" && first != "main";
            let report_to_grading =
                first == "report" && ["grade", "runner", "checks"].contains(&target.as_str());
            if down_to_up || to_the_command_line || report_to_grading {
                broken.push(format!(
                    "{} imports {}",
                    file_name(&krate, from),
                    file_name(&krate, to)
                ));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The reader itself finds a cycle and a wrong-way import when there is
/// one: a made-up crate where `a` and `b` import each other.
#[test]
fn a_cycle_is_found() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("a")).expect("a directory");
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\n").expect("lib.rs");
    std::fs::write(
        src.join("a").join("mod.rs"),
        "mod inner;\nuse crate::b::{B, other::{C}};\npub struct A;\n",
    )
    .expect("a/mod.rs");
    std::fs::write(
        src.join("a").join("inner.rs"),
        "pub fn f() -> super::A { super::A }\n",
    )
    .expect("a/inner.rs");
    std::fs::write(
        src.join("b.rs"),
        "// use crate::c; is a comment\npub struct B;\npub fn g() { crate::a::inner::f(); }\n",
    )
    .expect("b.rs");
    let krate = Crate::read(&src);
    let found = cycles(&graph(&krate));
    assert_eq!(found.len(), 1, "{found:?}");
    let mut files: Vec<String> = found[0].iter().map(|m| m.join("/")).collect();
    files.sort();
    assert_eq!(files, ["a", "a/inner", "b"]);
    let result = std::panic::catch_unwind(|| assert_acyclic(&krate));
    assert!(result.is_err(), "the cycle fails the check");
}
