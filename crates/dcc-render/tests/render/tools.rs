//! The external tools, run on temporary files. A missing tool panics with the package to
//! install, so the test fails loudly rather than passing without checking.

use std::path::Path;
use std::process::Command;

/// The text zbarimg decodes from an image (exactly one symbol expected).
pub fn zbarimg(image: &[u8], extension: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("code.{extension}"));
    std::fs::write(&path, image).unwrap();
    let output = run(
        "zbarimg",
        "zbar-tools",
        &["-q", "--raw", path.to_str().unwrap()],
    );
    let text = String::from_utf8(output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "zbarimg found {} symbols: {text}",
        lines.len()
    );
    lines[0].to_owned()
}

/// The first page of a PDF as a PNG at `dpi`.
pub fn rasterise_pdf(pdf: &[u8], dpi: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("certificate.pdf");
    std::fs::write(&input, pdf).unwrap();
    let prefix = dir.path().join("page");
    let dpi = dpi.to_string();
    let args = [
        "-r",
        &dpi,
        "-png",
        "-singlefile",
        input.to_str().unwrap(),
        prefix.to_str().unwrap(),
    ];
    run("pdftoppm", "poppler-utils", &args);
    std::fs::read(dir.path().join("page.png")).unwrap()
}

/// The SVG rasterised to PNG by rsvg-convert.
pub fn rasterise_svg(svg: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("code.svg");
    std::fs::write(&input, svg).unwrap();
    let output = dir.path().join("code.png");
    let args = [
        "-w",
        "600",
        "-o",
        output.to_str().unwrap(),
        input.to_str().unwrap(),
    ];
    run("rsvg-convert", "librsvg2-bin", &args);
    std::fs::read(output).unwrap()
}

/// The text of a PDF as pdftotext lays it out.
pub fn pdf_page_text(pdf: &[u8]) -> String {
    with_pdf(pdf, |path| {
        run("pdftotext", "poppler-utils", &["-layout", path, "-"])
    })
}

/// pdfinfo's report.
pub fn pdfinfo_pages(pdf: &[u8]) -> String {
    with_pdf(pdf, |path| run("pdfinfo", "poppler-utils", &[path]))
}

/// pdffonts' table.
pub fn pdffonts(pdf: &[u8]) -> String {
    with_pdf(pdf, |path| run("pdffonts", "poppler-utils", &[path]))
}

/// Checks that `svg` is well-formed XML.
pub fn xmllint(svg: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("code.svg");
    std::fs::write(&path, svg).unwrap();
    run(
        "xmllint",
        "libxml2-utils",
        &["--noout", path.to_str().unwrap()],
    );
}

fn with_pdf(pdf: &[u8], action: impl FnOnce(&str) -> Vec<u8>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("certificate.pdf");
    std::fs::write(&path, pdf).unwrap();
    String::from_utf8(action(path.to_str().unwrap())).unwrap()
}

fn run(tool: &str, package: &str, args: &[&str]) -> Vec<u8> {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!("{tool} is needed for this test (Debian package {package}): {error}")
        });
    assert!(
        output.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = Path::new(tool);
    output.stdout
}
