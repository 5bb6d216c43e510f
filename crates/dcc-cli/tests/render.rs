//! `dcc render`: the sample certificate rendered offline reads back through zbarimg (PNG, and
//! the PDF rasterised by pdftoppm) to the exact HC1 string. Both tools must be installed
//! (scripts/test.sh installs zbar-tools and poppler-utils).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use std::io::Write as _;

fn sample_hc1() -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/de-vaccination.hc1");
    let text = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    (path, text)
}

fn dcc(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcc"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn tool(name: &str, package: &str, args: &[&str]) -> String {
    let output = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{name} is needed (Debian package {package}): {error}"));
    assert!(
        output.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn png_from_a_file_reads_back_with_zbarimg() {
    let (path, hc1) = sample_hc1();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("code.png");
    let output = dcc(
        &[
            "render",
            "--png",
            path.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read = tool(
        "zbarimg",
        "zbar-tools",
        &["-q", "--raw", out.to_str().unwrap()],
    );
    assert_eq!(read.trim_end(), hc1);
}

#[test]
fn pdf_from_stdin_reads_back_after_pdftoppm() {
    let (_, hc1) = sample_hc1();
    let output = dcc(&["render", "--pdf", "-"], Some(&hc1));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("certificate.pdf");
    std::fs::write(&pdf, &output.stdout).unwrap();
    let page = dir.path().join("page");
    let args = [
        "-r",
        "150",
        "-png",
        "-singlefile",
        pdf.to_str().unwrap(),
        page.to_str().unwrap(),
    ];
    tool("pdftoppm", "poppler-utils", &args);
    let png = dir.path().join("page.png");
    let read = tool(
        "zbarimg",
        "zbar-tools",
        &["-q", "--raw", png.to_str().unwrap()],
    );
    assert_eq!(read.trim_end(), hc1);
    let text = tool("pdftotext", "poppler-utils", &[pdf.to_str().unwrap(), "-"]);
    assert!(text.contains("Mustermann, Erika"), "{text}");
}

#[test]
fn svg_from_an_argument_goes_to_stdout() {
    let (_, hc1) = sample_hc1();
    let output = dcc(&["render", "--svg", &hc1], None);
    assert!(output.status.success());
    let svg = String::from_utf8(output.stdout).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
}

#[test]
fn undecodable_input_exits_1_and_missing_format_exits_2() {
    let output = dcc(&["render", "--pdf", "HC1:NOT-BASE45"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot render"));
    let (path, _) = sample_hc1();
    let output = dcc(&["render", path.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(2));
}
