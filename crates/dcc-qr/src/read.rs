//! Reading the text of a QR code from an image.

/// Why no QR text could be read from an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrReadError {
    /// The bytes are not a PNG or JPEG image this crate can decode.
    #[error("the image cannot be decoded: {0}")]
    Image(#[from] image::ImageError),
    /// The image holds no QR code that could be found.
    #[error("no QR code was found in the image")]
    NoCode,
    /// A QR code was found but its content could not be decoded.
    #[error("a QR code was found but could not be read: {0}")]
    Unreadable(#[from] rqrr::DeQRError),
}

/// Reads the text of the first readable QR code in a PNG or JPEG image.
pub fn read_image(bytes: &[u8]) -> Result<String, QrReadError> {
    let luma = image::load_from_memory(bytes)?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    let grids = prepared.detect_grids();
    let mut last_error = None;
    for grid in grids {
        match grid.decode() {
            Ok((_, content)) => return Ok(content),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.map_or(QrReadError::NoCode, QrReadError::Unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_image_error() {
        assert!(matches!(
            read_image(b"not an image"),
            Err(QrReadError::Image(_))
        ));
    }

    #[test]
    fn reads_the_sample_code_from_png_and_from_jpeg() {
        let png = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../samples/de-vaccination.png"
        ))
        .unwrap();
        let hc1 = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../samples/de-vaccination.hc1"
        ))
        .unwrap();
        assert_eq!(read_image(&png).unwrap(), hc1.trim());
        let mut jpeg = Vec::new();
        image::load_from_memory(&png)
            .unwrap()
            .to_rgb8()
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        assert_eq!(read_image(&jpeg).unwrap(), hc1.trim());
    }

    #[test]
    fn blank_image_has_no_code() {
        let blank = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(blank)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(matches!(read_image(&png), Err(QrReadError::NoCode)));
    }
}
