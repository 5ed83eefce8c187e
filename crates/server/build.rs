//! Embeds the demo web app (`demo/`), the browser SDK (`sdk-js/src/`) and the vendor facade's
//! classic script (`sdk-js/dist/EnxRtc.js`) in the `alcove`
//! binary, so a copied or installed binary serves `/` and `/sdk/` without the source tree
//! (`alcove serve --web-dir DIR` serves a folder instead, for development).
//!
//! Writes `$OUT_DIR/web_assets.rs`: one `(url path, include_bytes!(file))` entry per file.
//! `include_bytes!` makes cargo rebuild when a file changes; `rerun-if-changed` on the two
//! folders catches files that are added or removed.

use std::path::{Path, PathBuf};

/// (folder under the repository root, URL prefix it is served under)
/// `sdk-js/dist` holds the committed classic-script build of the vendor facade (`EnxRtc.js`).
const TREES: &[(&str, &str)] = &[
    ("demo", "/demo/"),
    ("sdk-js/src", "/sdk/"),
    ("sdk-js/dist", "/sdk/"),
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest.join("../..");
    let mut entries = String::from("&[\n");
    for (dir, prefix) in TREES {
        let base = root.join(dir);
        println!("cargo:rerun-if-changed={}", base.display());
        let mut files = Vec::new();
        collect(&base, &mut files);
        files.sort();
        for file in files {
            let rel = file.strip_prefix(&base).expect("under base");
            let url = format!("{prefix}{}", rel.to_string_lossy().replace('\\', "/"));
            let abs = file.canonicalize().expect("file exists");
            entries.push_str(&format!(
                "    ({url:?}, include_bytes!({:?}) as &[u8]),\n",
                abs.to_string_lossy()
            ));
        }
    }
    entries.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("web_assets.rs"), entries).expect("OUT_DIR is writable");
}

/// Every regular file under `dir`, recursively; hidden files are skipped.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}
