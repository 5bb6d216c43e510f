//! The printable certificate: one A4 page as pharmacies handed it out, with the QR code, the
//! holder's names and date of birth, the entry's fields in human words with German and English
//! labels, and the validity note of the EU template.
//!
//! Drawn with krilla; the text uses the vendored DejaVu Sans (`fonts/`), embedded as a subset
//! with a ToUnicode map so that `pdftotext` and screen readers get the names back. Glyphs are
//! placed by their advance widths without a shaper (see `LoadedFont::glyphs`). The QR code
//! is vector: one filled path of module runs. No creation date or random document id is
//! written, so the same certificate always gives the same bytes.

use std::sync::OnceLock;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Transform};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use crate::png::is_dark_with_quiet_zone;
use crate::qr::{QUIET_ZONE, QrCode};
use crate::view::{
    CertificateView, DATE_OF_BIRTH, Label, NAME, SIGNATURE_EXPIRES, STANDARDISED_NAME,
    VALIDITY_NOTE,
};

/// Why the PDF could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The vendored font could not be parsed (a build defect).
    #[error("the embedded font cannot be read")]
    Font,
    /// krilla refused to write the document.
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// Renders the certificate page for `view` with the QR code `code`.
pub fn render(view: &CertificateView, code: &QrCode) -> Result<Vec<u8>, PdfError> {
    let font = font()?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("{} / {}", HEADING.de, HEADING.en))
            .language("de".to_owned()),
    );
    let settings = PageSettings::from_wh(A4_WIDTH, A4_HEIGHT).ok_or(PdfError::Font)?;
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();
    let mut pen = Pen {
        surface: &mut surface,
        font,
    };
    pen.draw(view, code);
    surface.finish();
    page.finish();
    document
        .finish()
        .map_err(|error| PdfError::Write(format!("{error:?}")))
}

/// The drawing state: the page surface and the font with its metrics.
struct Pen<'a, 'b> {
    surface: &'a mut Surface<'b>,
    font: &'static LoadedFont,
}

impl Pen<'_, '_> {
    fn draw(&mut self, view: &CertificateView, code: &QrCode) {
        let mut y = MARGIN + 18.0;
        self.text(MARGIN, y, HEADING_SIZE, HEADING.de, INK);
        y += 20.0;
        self.text(MARGIN, y, SUBHEADING_SIZE, HEADING.en, GREY);
        y += 28.0;
        let title = view.kind.title();
        self.text(
            MARGIN,
            y,
            TITLE_SIZE,
            &format!("{} / {}", title.de, title.en),
            INK,
        );
        y += 12.0;
        self.rule(y);

        // The QR code at the top right, the person beside it.
        let qr_top = y + 14.0;
        self.qr(code, A4_WIDTH - MARGIN - QR_SIDE, qr_top);
        let person_width = A4_WIDTH - 2.0 * MARGIN - QR_SIDE - 16.0;
        let mut person_y = qr_top + 14.0;
        for (label, value, size) in [
            (NAME, view.name.as_str(), NAME_SIZE),
            (
                STANDARDISED_NAME,
                view.standardised_name.as_str(),
                VALUE_SIZE,
            ),
            (DATE_OF_BIRTH, view.date_of_birth.as_str(), VALUE_SIZE),
        ] {
            self.labelled(MARGIN, person_y, person_width, label, value, size);
            person_y += ROW_HEIGHT + 4.0;
        }

        let mut y = (qr_top + QR_SIDE).max(person_y) + 10.0;
        self.rule(y);
        y += 20.0;
        let width = A4_WIDTH - 2.0 * MARGIN;
        for field in &view.fields {
            self.labelled(MARGIN, y, width, field.label, &field.value, VALUE_SIZE);
            y += ROW_HEIGHT;
        }
        if let Some(expires) = &view.expires {
            self.labelled(MARGIN, y, width, SIGNATURE_EXPIRES, expires, VALUE_SIZE);
            y += ROW_HEIGHT;
        }

        y += 4.0;
        self.rule(y);
        y += 16.0;
        for paragraph in [VALIDITY_NOTE.de, VALIDITY_NOTE.en] {
            for line in self.font.wrap(paragraph, NOTE_SIZE, width) {
                self.text(MARGIN, y, NOTE_SIZE, &line, GREY);
                y += NOTE_SIZE * 1.35;
            }
            y += 6.0;
        }
    }

    /// A small grey "Deutsch / English" label with the value on the line below, shrunk to fit
    /// `width` if it is long (issuer names and UVCIs can reach 80 characters).
    fn labelled(&mut self, x: f32, y: f32, width: f32, label: Label, value: &str, size: f32) {
        let label_text = format!("{} / {}", label.de, label.en);
        self.text(x, y, LABEL_SIZE, &label_text, GREY);
        let size = self.font.fitting_size(value, size, width);
        self.text(x, y + size + 3.0, size, value, INK);
    }

    fn text(&mut self, x: f32, y: f32, size: f32, text: &str, colour: Colour) {
        if text.is_empty() {
            return;
        }
        self.surface.set_fill(Some(Fill {
            paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
            ..Fill::default()
        }));
        let glyphs = self.font.glyphs(text);
        self.surface.draw_glyphs(
            Point::from_xy(x, y),
            &glyphs,
            self.font.krilla.clone(),
            text,
            size,
            false,
        );
    }

    fn rule(&mut self, y: f32) {
        if let Some(rect) = Rect::from_xywh(MARGIN, y, A4_WIDTH - 2.0 * MARGIN, 0.6) {
            self.fill_rects(&[rect], GREY);
        }
    }

    /// The QR code with its quiet zone as one path of horizontal module runs, drawn in module
    /// units under a scaling transform: whole-number coordinates keep the content stream short,
    /// which is most of what writing the page costs.
    fn qr(&mut self, code: &QrCode, left: f32, top: f32) {
        let modules = code.size() + 2 * QUIET_ZONE;
        let module = QR_SIDE / modules as f32;
        let mut rects = Vec::new();
        for y in 0..modules {
            let mut x = 0;
            while x < modules {
                if !is_dark_with_quiet_zone(code, x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < modules && is_dark_with_quiet_zone(code, x, y) {
                    x += 1;
                }
                if let Some(rect) = Rect::from_xywh(start as f32, y as f32, (x - start) as f32, 1.0)
                {
                    rects.push(rect);
                }
            }
        }
        self.surface
            .push_transform(&Transform::from_row(module, 0.0, 0.0, module, left, top));
        self.fill_rects(&rects, INK);
        self.surface.pop();
    }

    fn fill_rects(&mut self, rects: &[Rect], colour: Colour) {
        let mut builder = PathBuilder::new();
        for &rect in rects {
            builder.push_rect(rect);
        }
        if let Some(path) = builder.finish() {
            self.surface.set_fill(Some(Fill {
                paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
                ..Fill::default()
            }));
            self.surface.draw_path(&path);
        }
    }
}

/// The vendored font, for krilla and with the advance widths to measure text.
struct LoadedFont {
    krilla: Font,
    /// Font units per em, to turn advance widths into ems.
    units_per_em: f32,
}

impl LoadedFont {
    fn load() -> Option<Self> {
        let krilla = Font::new(FONT_BYTES.into(), 0)?;
        let units_per_em = krilla.units_per_em();
        Some(Self {
            krilla,
            units_per_em,
        })
    }

    /// One glyph per character, placed by its advance width: the labels and names are
    /// Latin text in precomposed (NFC) form, which needs no shaping, and skipping the shaper
    /// makes the page several times cheaper to draw. Each glyph keeps its character's byte
    /// range, so the PDF's ToUnicode map gives the text back exactly.
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        let Ok(font) = FontRef::new(FONT_BYTES) else {
            return Vec::new();
        };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        text.char_indices()
            .map(|(start, ch)| {
                let glyph = charmap.map(ch).unwrap_or_default();
                let advance = metrics.advance_width(glyph).unwrap_or(0.0);
                KrillaGlyph {
                    glyph_id: GlyphId::new(glyph.to_u32()),
                    text_range: start..start + ch.len_utf8(),
                    x_advance: advance / self.units_per_em,
                    x_offset: 0.0,
                    y_offset: 0.0,
                    y_advance: 0.0,
                    location: None,
                }
            })
            .collect()
    }

    /// Width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        let ems: f32 = self.glyphs(text).iter().map(|glyph| glyph.x_advance).sum();
        ems * size
    }

    /// `size`, or the largest size down to 6 pt at which `text` fits `width`.
    fn fitting_size(&self, text: &str, size: f32, width: f32) -> f32 {
        let natural = self.width(text, size);
        if natural <= width {
            size
        } else {
            (size * width / natural).max(MIN_SIZE)
        }
    }

    /// Greedy word wrap of `text` into lines no wider than `width`.
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.width(&candidate, size) > width {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// The font, parsed once per process.
fn font() -> Result<&'static LoadedFont, PdfError> {
    static FONT: OnceLock<Option<LoadedFont>> = OnceLock::new();
    FONT.get_or_init(LoadedFont::load)
        .as_ref()
        .ok_or(PdfError::Font)
}

const FONT_BYTES: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

const HEADING: Label = Label {
    de: "EU-Digitales COVID-Zertifikat",
    en: "EU Digital COVID Certificate",
};

/// A4 in points (210 × 297 mm).
const A4_WIDTH: f32 = 595.28;
const A4_HEIGHT: f32 = 841.89;
/// 20 mm.
const MARGIN: f32 = 56.7;
/// 40 mm including the quiet zone: the symbol's diagonal stays within the 35–60 mm that
/// dcc-spec.md §1.1 asks for, for every version an HC1 string needs.
const QR_SIDE: f32 = 113.4;
const ROW_HEIGHT: f32 = 30.0;
const HEADING_SIZE: f32 = 18.0;
const SUBHEADING_SIZE: f32 = 12.0;
const TITLE_SIZE: f32 = 14.0;
const NAME_SIZE: f32 = 14.0;
const VALUE_SIZE: f32 = 11.0;
const LABEL_SIZE: f32 = 7.5;
const NOTE_SIZE: f32 = 8.0;
const MIN_SIZE: f32 = 6.0;
const INK: Colour = (0, 0, 0);
const GREY: Colour = (85, 85, 85);

/// Red, green, blue.
type Colour = (u8, u8, u8);
