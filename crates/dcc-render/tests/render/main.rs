//! Rendering checked by the tools a pharmacy's customer and a verifier would meet: zbarimg reads
//! the PNG and the PDF page rasterised by pdftoppm back to the exact HC1 string, pdftotext finds
//! the names intact, pdfinfo counts one A4 page. The tools must be installed (scripts/test.sh
//! does it); a missing tool fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;
mod tools;

use dcc_render::qr::{QUIET_ZONE, QrCode};
use dcc_render::{Format, render};

use self::support::{NAME_AS_WRITTEN, hc1_recovery, hc1_test, hc1_vaccination};
use self::tools::{pdf_page_text, pdfinfo_pages, rasterise_pdf, zbarimg};

#[test]
fn png_decodes_to_the_exact_hc1() {
    let hc1 = hc1_vaccination();
    let png = render(&hc1, Format::Png).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(zbarimg(&png, "png"), hc1);
}

#[test]
fn png_is_read_by_the_project_reader_too() {
    let hc1 = hc1_test();
    let png = render(&hc1, Format::Png).unwrap();
    assert_eq!(dcc_qr::read_image(&png).unwrap(), hc1);
}

#[test]
fn png_prints_between_35_and_60_mm_diagonal() {
    let hc1 = hc1_vaccination();
    let png = render(&hc1, Format::Png).unwrap();
    let side_px = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let dpi = 300.0;
    let side_mm = f64::from(side_px) / dpi * 25.4;
    let diagonal = side_mm * std::f64::consts::SQRT_2;
    assert!((35.0..=60.0).contains(&diagonal), "diagonal {diagonal} mm");
}

#[test]
fn pdf_page_rasterised_at_150_dpi_decodes_to_the_exact_hc1() {
    for hc1 in [hc1_vaccination(), hc1_test(), hc1_recovery()] {
        let pdf = render(&hc1, Format::Pdf).unwrap();
        let page = rasterise_pdf(&pdf, 150);
        assert_eq!(zbarimg(&page, "png"), hc1);
    }
}

#[test]
fn pdf_text_shows_names_and_fields() {
    let pdf = render(&hc1_vaccination(), Format::Pdf).unwrap();
    let text = pdf_page_text(&pdf);
    for expected in [
        NAME_AS_WRITTEN,
        "MUELLER<LUKASIEWICZ<<JUERGEN<ODEGARD",
        "1964-08-12",
        "Impfzertifikat / Vaccination certificate",
        "Comirnaty",
        "Biontech Manufacturing GmbH",
        "2/2",
        "2021-05-29",
        "Germany",
        "Robert Koch-Institut",
        "URN:UVCI:01:DE:APO123/4P6D3QWHVKZ8#C",
        "Geburtsdatum / Date of birth",
        "Dieses Zertifikat ist kein Reisedokument.",
        "This certificate is not a travel document.",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[test]
fn pdf_for_a_test_shows_the_result() {
    let text = pdf_page_text(&render(&hc1_test(), Format::Pdf).unwrap());
    assert!(text.contains("Testzertifikat / Test certificate"), "{text}");
    assert!(text.contains("Not detected"), "{text}");
    assert!(text.contains("Testergebnis / Test result"), "{text}");
}

#[test]
fn pdf_is_one_a4_page_with_the_font_embedded() {
    let pdf = render(&hc1_vaccination(), Format::Pdf).unwrap();
    let info = pdfinfo_pages(&pdf);
    assert!(info.contains("Pages:           1"), "{info}");
    assert!(info.contains("595.28 x 841.89 pts (A4)"), "{info}");
    let fonts = tools::pdffonts(&pdf);
    assert!(fonts.contains("DejaVuSans"), "{fonts}");
    assert!(
        fonts.lines().skip(2).all(|line| line.contains(" yes yes ")),
        "{fonts}"
    );
}

#[test]
fn rendering_again_gives_identical_bytes() {
    let hc1 = hc1_vaccination();
    for format in Format::ALL {
        assert_eq!(
            render(&hc1, format).unwrap(),
            render(&hc1, format).unwrap(),
            "{format:?}"
        );
    }
}

#[test]
fn svg_is_well_formed_with_the_right_module_count() {
    let hc1 = hc1_vaccination();
    let svg = String::from_utf8(render(&hc1, Format::Svg).unwrap()).unwrap();
    let code = QrCode::encode(&hc1).unwrap();
    let modules = code.size() + 2 * QUIET_ZONE;
    assert!(
        svg.contains(&format!("viewBox=\"0 0 {modules} {modules}\"")),
        "{svg}"
    );
    // Well-formed XML according to a real parser (xmllint from libxml2).
    tools::xmllint(&svg);
    // The dark area of the path equals the number of dark modules.
    let dark_modules = code.modules().iter().filter(|&&dark| dark).count();
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let area: usize = path
        .split('M')
        .skip(1)
        .map(|run| {
            run.split('h')
                .nth(1)
                .unwrap()
                .split('v')
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(area, dark_modules);
    // And a rasterised SVG reads back (rsvg-convert).
    assert_eq!(zbarimg(&tools::rasterise_svg(&svg), "png"), hc1);
}

#[test]
fn text_that_is_not_hc1_is_refused() {
    assert!(render("hello", Format::Png).is_err());
    assert!(render("HC1:not base45 at all", Format::Pdf).is_err());
}
