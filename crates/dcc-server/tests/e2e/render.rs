//! Rendered answers by `Accept`: the PNG, the SVG and the PDF of an issued certificate hold
//! the same HC1 string as the JSON answer. An idempotent retry asks for each form, so one
//! certificate is issued and read back by zbarimg (the PDF after pdftoppm at 150 dpi).
//! zbar-tools and poppler-utils must be installed (scripts/test.sh does it).

use std::process::Command;

use serde_json::{Value, json};

use super::support::{Backend, PHARMACY, TestPortal};

fn vaccination() -> Value {
    json!({"nam": {"fn": "Müller-Łukasiewicz", "gn": "Jürgen Ødegård"}, "dob": "1964-08-12",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-05-29"}]})
}

async fn rendered_forms_hold_the_issued_hc1(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_for(PHARMACY);
    let send = |accept: &'static str| {
        client
            .post(portal.url("/api/certify/v2/issue"))
            .header("Idempotency-Key", "print-0815")
            .header("Accept", accept)
            .json(&vaccination())
            .send()
    };
    let first: Value = send("application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hc1 = first["hc1"].as_str().unwrap().to_owned();

    let png = send("image/png").await.unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(png.headers()["idempotent-replayed"], "true");
    assert_eq!(png.headers()["x-dgc-id"], first["uvci"].as_str().unwrap());
    let png = png.bytes().await.unwrap();
    assert_eq!(zbarimg(&png), hc1);

    let pdf = send("application/pdf").await.unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let pdf = pdf.bytes().await.unwrap();
    let (page, text) = rasterise_and_extract(&pdf);
    assert_eq!(zbarimg(&page), hc1);
    assert!(
        text.contains("Müller-Łukasiewicz, Jürgen Ødegård"),
        "{text}"
    );

    let svg = send("image/svg+xml;q=0.9").await.unwrap();
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(svg.contains("<svg") && svg.ends_with("</svg>\n"), "{svg}");

    assert_eq!(portal.ledger_count(PHARMACY).await, 1);
    portal.stop().await;
}

fn zbarimg(image: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("code.png");
    std::fs::write(&path, image).unwrap();
    tool(
        "zbarimg",
        "zbar-tools",
        &["-q", "--raw", path.to_str().unwrap()],
    )
    .trim_end()
    .to_owned()
}

/// The page rasterised at 150 dpi, and its text.
fn rasterise_and_extract(pdf: &[u8]) -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("certificate.pdf");
    std::fs::write(&path, pdf).unwrap();
    let prefix = dir.path().join("page");
    let args = [
        "-r",
        "150",
        "-png",
        "-singlefile",
        path.to_str().unwrap(),
        prefix.to_str().unwrap(),
    ];
    tool("pdftoppm", "poppler-utils", &args);
    let page = std::fs::read(dir.path().join("page.png")).unwrap();
    let text = tool("pdftotext", "poppler-utils", &[path.to_str().unwrap(), "-"]);
    (page, text)
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

on_both_backends!(rendered_forms_hold_the_issued_hc1);
