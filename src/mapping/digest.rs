//! A blob's digest as kept for the snapshot's life: 32 bytes for SHA-256, the text else.

use std::fmt;

/// An OCI digest (`algorithm:encoded`). One in the canonical SHA-256 form (lowercase
/// hex) is held as its 32 bytes, a quarter of its text; any other is held as written.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlobDigest {
    /// `sha256:` and 64 lowercase hex digits.
    Sha256([u8; 32]),
    /// Any other digest, as written.
    Other(Box<str>),
}

impl From<&str> for BlobDigest {
    fn from(text: &str) -> Self {
        match text.strip_prefix("sha256:").and_then(lowercase_hex_32) {
            Some(bytes) => BlobDigest::Sha256(bytes),
            None => BlobDigest::Other(text.into()),
        }
    }
}

/// The 32 bytes written as these 64 lowercase hex digits, in one pass without a branch
/// per digit (a crawl reads a digest per layer, several times over).
fn lowercase_hex_32(hex: &str) -> Option<[u8; 32]> {
    /// Each byte's value as a lowercase hex digit; 0x10 for any other byte.
    const DIGITS: [u8; 256] = {
        let mut table = [0x10; 256];
        let mut n = 0;
        while n < 16 {
            table[b"0123456789abcdef"[n] as usize] = n as u8;
            n += 1;
        }
        table
    };
    let hex: &[u8; 64] = hex.as_bytes().try_into().ok()?;
    let mut bytes = [0; 32];
    let mut invalid = 0;
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        let (high, low) = (DIGITS[usize::from(pair[0])], DIGITS[usize::from(pair[1])]);
        invalid |= high | low;
        *byte = high << 4 | low;
    }
    (invalid & 0x10 == 0).then_some(bytes)
}

impl fmt::Display for BlobDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobDigest::Sha256(bytes) => write!(f, "sha256:{}", hex::encode(bytes)),
            BlobDigest::Other(text) => f.write_str(text),
        }
    }
}

impl fmt::Debug for BlobDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl PartialEq<&str> for BlobDigest {
    fn eq(&self, other: &&str) -> bool {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        match self {
            BlobDigest::Sha256(bytes) => other.strip_prefix("sha256:").is_some_and(|hex| {
                hex.len() == 64
                    && hex.as_bytes().chunks(2).zip(bytes).all(|(pair, byte)| {
                        pair == [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]
                    })
            }),
            BlobDigest::Other(text) => **text == **other,
        }
    }
}

impl PartialEq<String> for BlobDigest {
    fn eq(&self, other: &String) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_as_written() {
        let sha256 = "sha256:7cff937ff47cf327ab3fe27310da670719f87e86cd1f72c24459c3b542e505e0";
        let digest = BlobDigest::from(sha256);
        assert!(matches!(digest, BlobDigest::Sha256(_)));
        assert_eq!(digest.to_string(), sha256);
        assert_eq!(digest, sha256);
        assert_ne!(digest, &sha256.replace("e0", "e1")[..]);
        assert_ne!(digest, &sha256.to_uppercase()[..]);
        for other in [
            "sha256:7CFF937FF47CF327AB3FE27310DA670719F87E86CD1F72C24459C3B542E505E0",
            "sha256:7cff",
            "sha512:ab",
            "sha256:zzff937ff47cf327ab3fe27310da670719f87e86cd1f72c24459c3b542e505e0",
            "",
        ] {
            let digest = BlobDigest::from(other);
            assert!(matches!(digest, BlobDigest::Other(_)), "{other}");
            assert_eq!(digest.to_string(), other);
        }
    }
}
