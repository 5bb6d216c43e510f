//! The QR code of a TOTP provisioning URI (`otpauth://totp/…`) as inline SVG for the
//! enrolment page. `dcc-render`'s encoder writes only HC1's alphanumeric mode, so this uses
//! the `qrcode` crate (byte mode, level M); the SVG carries presentation attributes only, no
//! style, so the page's Content-Security-Policy allows it inline.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The inline `<svg>` of `uri`, or `None` when the text does not fit a QR code.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).ok()?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    // Inline in HTML: without the XML declaration.
    let start = svg.find("<svg")?;
    svg.get(start..).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_is_inline_ready_and_style_free() {
        let svg = qr_svg("otpauth://totp/dcc:demo?secret=JBSWY3DPEHPK3PXP&issuer=dcc").unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("style"));
        assert!(
            svg.contains("width=\"2"),
            "at least 240 px wide: {svg:.120}"
        );
    }
}
