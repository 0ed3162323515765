//! NumPy `.npy` files (format versions 1–3): float arrays in, float32 arrays out.

use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// A dense array: shape and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<f32>,
}

fn error(path: &Path, message: impl std::fmt::Display) -> String {
    format!("{}: {message}", path.display())
}

/// Reads a C-ordered little-endian `float32` or `float64` array (float64 is narrowed).
pub fn read(path: &Path) -> Result<Array, String> {
    let bytes = std::fs::read(path).map_err(|e| error(path, format!("cannot read: {e}")))?;
    parse(&bytes, path)
}

/// [`read`] on the bytes of a file (`path` names it in errors). Every size in the header is
/// checked before anything is allocated for it.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Array, String> {
    let not_npy = || error(path, "not a .npy file (no NumPy header)");
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(not_npy());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => {
            return Err(error(
                path,
                format!("unsupported .npy version {}", bytes[6]),
            ));
        }
    };
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(not_npy)?;
    let descr = header_value(header, "descr").ok_or_else(not_npy)?;
    let width: usize = match descr {
        "<f4" | "=f4" => 4,
        "<f8" | "=f8" => 8,
        other => {
            return Err(error(
                path,
                format!("dtype `{other}` is not supported: save the array as float32 (`<f4`)"),
            ));
        }
    };
    if header_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(error(
            path,
            "array is in Fortran order: save a C-contiguous array (np.ascontiguousarray)",
        ));
    }
    let shape_text = header_value(header, "shape").ok_or_else(not_npy)?;
    let shape_text = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(not_npy)?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| not_npy()))
        .collect::<Result<Vec<_>, _>>()?;
    // The header is untrusted: a shape whose size overflows must not wrap to a small number.
    let needed = shape
        .iter()
        .try_fold(width, |bytes, &d| bytes.checked_mul(d))
        .ok_or_else(|| {
            error(
                path,
                format!("shape {shape:?} is too large: its byte count overflows"),
            )
        })?;
    let payload = &bytes[start + header_len..];
    if payload.len() != needed {
        return Err(error(
            path,
            format!(
                "shape {shape:?} needs {needed} bytes of data, the file has {} (truncated?)",
                payload.len()
            ),
        ));
    }
    let data = if width == 4 {
        payload
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        payload
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect()
    };
    Ok(Array { shape, data })
}

/// The value of `'key':` in a header dict: a quoted string (without quotes), a tuple (with its
/// parentheses) or a bare word.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = match rest.chars().next()? {
        q @ ('\'' | '"') => return rest[1..].split(q).next(),
        '(' => rest.find(')')? + 1,
        _ => rest.find([',', '}']).unwrap_or(rest.len()),
    };
    Some(rest[..end].trim())
}

/// Encodes a float32 array as `.npy` (version 1.0) bytes.
pub fn encode(array: &Array) -> Vec<u8> {
    let shape = match array.shape.as_slice() {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic, version, length, header and newline are padded to a multiple of 64 bytes.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + array.data.len() * 4);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in &array.data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_truncated_files() {
        let dir = std::env::temp_dir().join(format!("vit-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.npy");
        let array = Array {
            shape: vec![2, 3],
            data: vec![1.0, -2.5, 3.0, 0.0, 1e-8, 7.0],
        };
        let bytes = encode(&array);
        assert_eq!((bytes.len() - array.data.len() * 4) % 64, 0);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read(&path).unwrap(), array);
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(read(&path).unwrap_err().contains("truncated"));
        std::fs::write(&path, b"hello").unwrap();
        assert!(read(&path).unwrap_err().contains("not a .npy file"));
    }
}
