//! The three outputs behind one call: HC1 text in, bytes and their media type out.

use dcc_core::hcert::{self, DecodeError};

use crate::pdf::{self, PdfError};
use crate::qr::{QrCode, QrError};
use crate::view::{CertificateView, ViewError};
use crate::{png, svg};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// The QR code as a 1-bit PNG at 300 dpi.
    Png,
    /// The QR code as an SVG document.
    Svg,
    /// The A4 certificate page.
    Pdf,
}

impl Format {
    /// Every format.
    pub const ALL: [Self; 3] = [Self::Png, Self::Svg, Self::Pdf];

    /// The IANA media type of the output.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Svg => "image/svg+xml",
            Self::Pdf => "application/pdf",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Svg => "svg",
            Self::Pdf => "pdf",
        }
    }

    /// The format whose media type is `media_type` (parameters such as `;q=` stripped).
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let essence = media_type.split(';').next().unwrap_or_default().trim();
        Self::ALL
            .into_iter()
            .find(|format| format.media_type().eq_ignore_ascii_case(essence))
    }
}

/// Why an HC1 string could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The text is not a decodable HC1 string (the PDF needs the payload; the images need
    /// the `HC1:` prefix).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The text cannot be put in a QR code.
    #[error(transparent)]
    Qr(#[from] QrError),
    /// The payload lacks what the certificate page shows.
    #[error(transparent)]
    View(#[from] ViewError),
    /// The PDF could not be written.
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

impl RenderError {
    /// A stable code for the failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Decode(error) => error.code(),
            Self::Qr(_) => "qr_unencodable",
            Self::View(_) => "payload_incomplete",
            Self::Pdf(_) => "pdf_failed",
        }
    }
}

/// Renders `hc1` (an `HC1:` string) in `format`.
///
/// The images encode the text as given after checking its prefix; the PDF decodes it (without
/// verifying the signature) to show the holder and the entry.
pub fn render(hc1: &str, format: Format) -> Result<Vec<u8>, RenderError> {
    let hc1 = hc1.trim();
    match format {
        Format::Png | Format::Svg => {
            hcert::prefix::strip(hc1).map_err(DecodeError::from)?;
            let code = QrCode::encode(hc1)?;
            Ok(if format == Format::Png {
                png::render(&code)
            } else {
                svg::render(&code).into_bytes()
            })
        }
        Format::Pdf => {
            let decoded = hcert::decode(hc1)?;
            let view = CertificateView::from_payload(&decoded.payload, decoded.claims.expires_at)?;
            let code = QrCode::encode(hc1)?;
            Ok(pdf::render(&view, &code)?)
        }
    }
}
