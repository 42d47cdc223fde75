//! The stubs of `scripts/server.rs.in` state rules, not calls: no stub
//! comment names a method or a variant its finished body uses (the rule is
//! `checker::author::stub_giveaways`, which has its own failing example).
//! The template does not change when a student fills in stubs, so this
//! holds at every stage of their work.

use std::path::Path;

#[test]
fn no_stub_comment_names_what_its_body_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = std::fs::read_to_string(root.join("scripts/server.rs.in")).unwrap();
    let problems = checker::author::stub_giveaways(&template);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
