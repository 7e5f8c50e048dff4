//! PNG output: the LED look for people, and 1-bit pictures for golden comparisons.

use std::path::Path;

use super::LedGrid;

/// PNG reading or writing failed.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// The file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The picture could not be encoded.
    #[error("{path}: {source}")]
    Encode {
        /// The file.
        path: String,
        /// Why.
        source: png::EncodingError,
    },
    /// The file is not a picture.
    #[error("{path}: {source}")]
    Decode {
        /// The file.
        path: String,
        /// Why.
        source: image::ImageError,
    },
}

/// Writes the LED look of `grid` (each LED `pitch` pixels apart).
pub fn write_led_png(path: &Path, grid: &LedGrid, pitch: u32) -> Result<(), PngError> {
    let img = grid.to_image(pitch);
    let name = || path.display().to_string();
    // Created first so an unwritable path is an I/O error (the user's to fix), not an
    // encoder's.
    let file = std::fs::File::create(path).map_err(|source| PngError::Io { path: name(), source })?;
    let mut out = std::io::BufWriter::new(file);
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|source| PngError::Decode { path: name(), source })?;
    std::io::Write::flush(&mut out).map_err(|source| PngError::Io { path: name(), source })
}

/// Writes rows of `#`/`.` as a 1-bit greyscale PNG, one image pixel per LED (white = lit).
pub fn write_bits_png(path: &Path, rows: &[String]) -> Result<(), PngError> {
    let name = || path.display().to_string();
    let height = rows.len() as u32;
    let width = rows.first().map_or(0, |r| r.chars().count()) as u32;
    let stride = (width as usize).div_ceil(8);
    let mut data = vec![0u8; stride * height as usize];
    for (y, row) in rows.iter().enumerate() {
        for (x, c) in row.chars().enumerate() {
            if c == '#' {
                data[y * stride + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let file = std::fs::File::create(path).map_err(|source| PngError::Io { path: name(), source })?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::One);
    let encode = |source| PngError::Encode { path: name(), source };
    let mut writer = enc.write_header().map_err(encode)?;
    writer.write_image_data(&data).map_err(encode)?;
    writer.finish().map_err(encode)
}

/// Writes `width`×`height` pixels of 8-bit RGB (row by row, three bytes a pixel) as a PNG.
pub fn write_rgb_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<(), PngError> {
    let name = || path.display().to_string();
    let file = std::fs::File::create(path).map_err(|source| PngError::Io { path: name(), source })?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let encode = |source| PngError::Encode { path: name(), source };
    let mut writer = enc.write_header().map_err(encode)?;
    writer.write_image_data(rgb).map_err(encode)?;
    writer.finish().map_err(encode)
}

/// Reads any PNG as rows of `#`/`.` (a pixel brighter than mid-grey is lit).
pub fn read_bits_png(path: &Path) -> Result<Vec<String>, PngError> {
    let img = image::open(path)
        .map_err(|source| PngError::Decode { path: path.display().to_string(), source })?
        .to_luma8();
    Ok((0..img.height())
        .map(|y| (0..img.width()).map(|x| if img.get_pixel(x, y)[0] >= 128 { '#' } else { '.' }).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_png_round_trips() {
        let dir = std::env::temp_dir().join(format!("eslmatrix-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bits.png");
        let rows: Vec<String> = ["#.........#", ".#.#.#.#.#.", "###########"].map(String::from).to_vec();
        write_bits_png(&path, &rows).unwrap();
        assert_eq!(read_bits_png(&path).unwrap(), rows);
        let bytes = std::fs::read(&path).unwrap();
        // IHDR bit depth (byte 24) is 1: a true 1-bit file, small enough to review in a diff.
        assert_eq!(bytes[24], 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let err = read_bits_png(Path::new("no/such/file.png")).unwrap_err();
        assert!(err.to_string().contains("no/such/file.png"), "{err}");
    }
}
