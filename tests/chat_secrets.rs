//! No password of a chat run leaves protolab in anything it writes or prints,
//! except the capture file itself (the wire's evidence). A real `run chat`
//! with several users, then every output protolab makes of its capture:
//! the run's own report, `inspect` (text and JSON), `flows --json`, reports in
//! both languages, and the layers picture of every frame that carries a
//! password. Each is searched for every password found on the wire, as text,
//! as the hex dump's character column, and as the hex dump's byte column.

mod common;

use std::path::Path;

use common::{protolab, require_root};

/// Every `userPwd` value in the capture's bytes, in both wire forms: the
/// notes' `\"userPwd\":\"…\"` (data as a JSON string, what `run chat` sends)
/// and the object form `"userPwd":"…"`. (The lab's passwords hold no quotes.)
fn passwords_on_the_wire(capture: &Path) -> Vec<String> {
    let bytes = std::fs::read(capture).unwrap();
    let mut found = Vec::new();
    for (key, end) in [
        (&br#"\"userPwd\":\""#[..], &br#"\""#[..]),
        (&br#""userPwd":""#[..], &br#"""#[..]),
    ] {
        let mut i = 0;
        while let Some(at) = bytes[i..].windows(key.len()).position(|w| w == key) {
            let start = i + at + key.len();
            let len = bytes[start..]
                .windows(end.len())
                .position(|w| w == end)
                .unwrap();
            found.push(String::from_utf8_lossy(&bytes[start..start + len]).into_owned());
            i = start + len;
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The texts of an SVG's `<text>` elements, in document order.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            // plotters puts each text on a line of its own inside the element.
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .map(|t| {
            t.replace("&quot;", "\"")
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
        })
        .collect()
}

/// What a reader of `path` sees, in the forms a password could hide in:
/// the text itself and, for a picture, its hex dump's two columns joined up.
fn readable_forms(path: &Path, content: &str) -> Vec<(String, String)> {
    let mut forms = vec![("text".to_string(), content.to_string())];
    if path.extension().is_some_and(|e| e == "svg") {
        let texts = svg_texts(content);
        let chars: String = texts
            .iter()
            .filter(|t| t.chars().count() == 1)
            .cloned()
            .collect();
        let hex: String = texts
            .iter()
            .filter(|t| t.len() == 2 && t.chars().all(|c| c.is_ascii_hexdigit()))
            .cloned()
            .collect();
        forms.push(("hex dump characters".into(), chars));
        forms.push(("hex dump bytes".into(), hex));
    }
    forms
}

fn ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn no_output_of_a_chat_run_shows_a_password() {
    if !require_root("the chat secrets test", "libpcap on lo for `run chat`") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let run_dir = dir.path().join("run");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut printed = vec![(
        "run chat".to_string(),
        ok(
            protolab(&[
                "run",
                "chat",
                "--clients",
                "3",
                "--port",
                "0",
                "-o",
                run_dir.to_str().unwrap(),
            ]),
            "run chat",
        ),
    )];
    let mut files = Vec::new();
    common::files_under(&run_dir, &mut files);
    let capture = files
        .iter()
        .find(|p| p.file_name().is_some_and(|n| n == "capture.pcap"))
        .expect("the run wrote capture.pcap")
        .clone();
    let passwords = passwords_on_the_wire(&capture);
    assert!(
        passwords.len() >= 3,
        "3 users log in, so their passwords are on the wire: {passwords:?}"
    );

    let cap = capture.to_str().unwrap();
    let json = ok(protolab(&["inspect", cap, "--json"]), "inspect --json");
    printed.push(("inspect --json".into(), json.clone()));
    printed.push(("inspect".into(), ok(protolab(&["inspect", cap]), "inspect")));
    printed.push((
        "flows --json".into(),
        ok(protolab(&["flows", cap, "--json"]), "flows --json"),
    ));
    for lang in ["en", "zh"] {
        let rep = out_dir.join(format!("report-{lang}"));
        printed.push((
            format!("report --lang {lang}"),
            ok(
                protolab(&["report", cap, "--lang", lang, "-o", rep.to_str().unwrap()]),
                "report",
            ),
        ));
    }
    // The layers picture of every frame whose message carries a password.
    let mut secret_frames = Vec::new();
    for line in json.lines().filter(|l| l.starts_with('{')) {
        let f: serde_json::Value = serde_json::from_str(line).unwrap();
        if line.contains("userPwd") {
            secret_frames.push(f["frame"].as_u64().unwrap());
        }
    }
    assert!(
        secret_frames.len() >= 3,
        "inspect shows the login frames: {secret_frames:?}"
    );
    for n in &secret_frames {
        for lang in ["en", "zh"] {
            let svg = out_dir.join(format!("layers-{n}-{lang}.svg"));
            printed.push((
                format!("chart layers {n}"),
                ok(
                    protolab(&[
                        "chart",
                        cap,
                        "--kind",
                        "layers",
                        "--frame",
                        &n.to_string(),
                        "--lang",
                        lang,
                        "-o",
                        svg.to_str().unwrap(),
                    ]),
                    "chart --kind layers",
                ),
            ));
        }
    }

    common::files_under(&out_dir, &mut files);
    let mut searched = 0;
    let mut masked_dumps = 0;
    for path in files.iter().filter(|p| **p != capture) {
        let Ok(content) = std::fs::read_to_string(path) else {
            continue; // PNG: the same picture as its SVG, which is searched
        };
        searched += 1;
        for (form, text) in readable_forms(path, &content) {
            if form == "hex dump characters" && text.contains("***") {
                masked_dumps += 1;
            }
            for pw in &passwords {
                let hex: String = pw.bytes().map(|b| format!("{b:02x}")).collect();
                assert!(
                    !(text.contains(pw.as_str())
                        || form == "hex dump bytes" && text.contains(&hex)),
                    "{}: password {pw:?} in its {form}",
                    path.display()
                );
            }
        }
    }
    for (what, text) in &printed {
        for pw in &passwords {
            assert!(
                !text.contains(pw.as_str()),
                "`{what}` printed password {pw:?}"
            );
        }
    }
    assert!(searched >= 10, "searched only {searched} files");
    assert!(
        masked_dumps >= secret_frames.len(),
        "each login frame's hex dump shows the password masked ({masked_dumps} of {})",
        secret_frames.len()
    );
}
