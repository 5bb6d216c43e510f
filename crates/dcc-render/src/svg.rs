//! SVG output: one `<path>` of unit squares (one horizontal run of dark modules per sub-path)
//! on a white background, in module units with the four-module quiet zone, so it scales to
//! any print size.

use std::fmt::Write as _;

use crate::png::is_dark_with_quiet_zone;
use crate::qr::{QUIET_ZONE, QrCode};

/// Renders `code` as a standalone SVG document, 45 mm wide when printed.
pub fn render(code: &QrCode) -> String {
    let modules = code.size() + 2 * QUIET_ZONE;
    let mut path = String::with_capacity(code.size() * code.size());
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
            // Writing into a String cannot fail.
            let _ = write!(path, "M{start} {y}h{}v1h-{}z", x - start, x - start);
        }
    }
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" ",
            "width=\"{mm}mm\" height=\"{mm}mm\" viewBox=\"0 0 {n} {n}\" ",
            "shape-rendering=\"crispEdges\">\n",
            "<rect width=\"{n}\" height=\"{n}\" fill=\"#fff\"/>\n",
            "<path fill=\"#000\" d=\"{path}\"/>\n",
            "</svg>\n"
        ),
        mm = PRINT_MILLIMETRES,
        n = modules,
        path = path
    )
}

/// Printed width of the SVG including the quiet zone.
const PRINT_MILLIMETRES: u32 = 45;
