#!/usr/bin/env python3
"""Writes the exercise and solution servers from one annotated template.

The seven servers are stages of one program: stage N has the lessons of
exercises 1..N. Writing them by hand means making each fix fourteen times,
so they are generated from `server.rs.in` and committed; a test
(checker/tests/exercises.rs) keeps the committed files honest.

Markers (all removed from the output):
  line  //@A-B        keep this line in stages A..B (A or B may be omitted)
  line  //@{ A-B  ...  //@}        keep the lines between in stages A..B
  line  //@stub N                  start of a stub body for exercise N:
        //@| text                  a comment line shown only in exercise N
        //@todo "message"          the todo!() that replaces the body in exercise N
        ...body...
        //@end
  line  //@note N text            a comment line shown only in exercise N
  line  ... => expr, //@arm N "message"
                      in exercise N the expression becomes todo!("message")
Usage: python3 scripts/stages.py [OUT_DIR]   then: cargo fmt --all
OUT_DIR defaults to the repository root; the workbook's tests write to a
temporary one to check that the committed servers match the template.
"""
import re, sys, pathlib

SLUGS = ["01-cookie-auth", "02-rejections", "03-rooms", "04-token-in-url",
         "05-first-message", "06-close-codes", "07-origin-checks"]
TEMPLATE = pathlib.Path(__file__).with_name("server.rs.in")


def in_range(spec, stage):
    low, _, high = spec.partition("-")
    return (not low or stage >= int(low)) and (not high or stage <= int(high))


def render(stage, exercise):
    out, keep_stack, stub = [], [], None
    for raw in TEMPLATE.read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("//@{"):
            keep_stack.append(in_range(stripped[4:].strip(), stage))
            continue
        if stripped == "//@}":
            keep_stack.pop()
            continue
        if not all(keep_stack):
            continue
        arm = re.search(r"\s*//@arm (\d+) (\".*\")$", raw)
        if arm:
            raw = raw[: arm.start()]
        m = re.search(r"\s*//@(\d*-\d*)$", raw)
        if m:
            if not in_range(m.group(1), stage):
                continue
            raw = raw[: m.start()]
        if arm and exercise and stage == int(arm.group(1)):
            head, _, _ = raw.partition("=> ")
            raw = f"{head}=> todo!({arm.group(2)}),"
        if stripped.startswith("//@note "):
            _, number, text = stripped.split(" ", 2)
            if exercise and stage == int(number):
                out.append(raw[: len(raw) - len(raw.lstrip())] + "// " + text)
            continue
        if stripped.startswith("//@stub "):
            stub = {"n": int(stripped.split()[1]), "comments": [], "todo": None, "indent": None}
            continue
        if stub is not None:
            if stripped.startswith("//@|"):
                stub["comments"].append(stripped[4:].strip())
                continue
            if stripped.startswith("//@todo "):
                stub["todo"] = stripped[len("//@todo "):]
                continue
            if stripped == "//@end":
                stub = None
                continue
            if exercise and stage == stub["n"]:
                if stub["indent"] is None:
                    indent = raw[: len(raw) - len(raw.lstrip())]
                    stub["indent"] = indent
                    for comment in stub["comments"]:
                        out.append(f"{indent}// {comment}".rstrip())
                    out.append(f"{indent}todo!({stub['todo']})")
                continue
            out.append(raw)
            continue
        out.append(raw)
    text = "\n".join(out) + "\n"
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.replace("{STAGE}", str(stage)).replace("{KIND}", "exercise" if exercise else "solution")


def main():
    root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent
    for index, slug in enumerate(SLUGS, start=1):
        for folder, exercise in (("exercises", True), ("solutions", False)):
            path = root / folder / slug / "main.rs"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(index, exercise))
    print("wrote", 2 * len(SLUGS), "servers")


if __name__ == "__main__":
    sys.exit(main())
