//! NumPy `.npy` files (format version 1.0), written by hand for the demo layers.
//!
//! Layout: the magic `\x93NUMPY`, version `1 0`, a little-endian `u16` header length,
//! then an ASCII Python dict literal padded with spaces and ended by `\n` so that the
//! data starts on a 64-byte boundary, then the array in C order.
//! See <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.

/// Encodes a C-order little-endian `int16` array (`<i2`) of `shape`.
pub fn i16_array(shape: &[usize], values: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<i2", shape, &data)
}

/// Encodes a C-order `uint8` array (`|u1`) of `shape`.
pub fn u8_array(shape: &[usize], values: &[u8]) -> Vec<u8> {
    encode("|u1", shape, values)
}

/// Writes the header for `descr` and `shape`, then `data` (already in that dtype).
fn encode(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    // Python's tuple syntax: a one-element tuple keeps its trailing comma.
    let shape = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    // Headers here are a few dozen bytes; v1.0 allows up to 65535.
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a v1.0 file into its header text and data.
    fn split(file: &[u8]) -> (&str, &[u8]) {
        assert_eq!(&file[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([file[8], file[9]]) as usize;
        (
            std::str::from_utf8(&file[10..10 + len]).unwrap(),
            &file[10 + len..],
        )
    }

    #[test]
    fn int16_header_and_data() {
        let file = i16_array(&[2, 3], &[1, -1, 2, 3, 256, -32768]);
        let (header, data) = split(&file);
        assert_eq!(
            header.trim_end(),
            "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }"
        );
        assert!(header.ends_with('\n'));
        assert_eq!((10 + header.len()) % 64, 0);
        assert_eq!(data, &[1, 0, 0xff, 0xff, 2, 0, 3, 0, 0, 1, 0, 0x80]);
    }

    #[test]
    fn uint8_one_dimension() {
        let file = u8_array(&[4], &[9, 8, 7, 6]);
        let (header, data) = split(&file);
        assert_eq!(
            header.trim_end(),
            "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }"
        );
        assert_eq!((10 + header.len()) % 64, 0);
        assert_eq!(data, &[9, 8, 7, 6]);
    }
}
