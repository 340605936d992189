//! How an entry is known and when it changed: its identity, fingerprints, digests.
//!
//! An entry's identity is its own id, else its permalink, else a SHA-1 of its title and
//! content ([`entry_identity`]); a fingerprint is a fast, stable hash over its fields that
//! changes when any of them does ([`Fingerprint`]). Both are stored: they never change.

/// Identities longer than this are replaced by a hash.
const IDENTITY_MAX_BYTES: usize = 512;

/// The dedupe key: own id, else permalink, else a hash of title and content.
pub(super) fn entry_identity(
    id: Option<&str>,
    url: Option<&str>,
    title: &str,
    content: Option<&str>,
) -> String {
    let chosen = id
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or(url.filter(|s| !s.is_empty()));
    match chosen {
        Some(s) if s.len() <= IDENTITY_MAX_BYTES => s.to_string(),
        Some(s) => identity_hash(&[s.as_bytes()]),
        None => identity_hash(&[title.as_bytes(), content.unwrap_or("").as_bytes()]),
    }
}

/// A stable 128-bit digest (hex) of some byte strings: change detection for whole
/// documents and feed metadata.
pub fn digest(parts: &[Option<&[u8]>]) -> String {
    let mut fp = Fingerprint::default();
    for p in parts {
        fp.opt(*p);
    }
    fp.hex()
}

/// A 128-bit non-cryptographic hash over fields, stable across platforms and
/// releases (fingerprints are stored): two multiply-rotate lanes over 8-byte words.
pub struct Fingerprint {
    a: u64,
    b: u64,
}

const K1: u64 = 0x9e37_79b9_7f4a_7c15;
const K2: u64 = 0xc2b2_ae3d_27d4_eb4f;

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint {
            a: 0x243f_6a88_85a3_08d3,
            b: 0x1319_8a2e_0370_7344,
        }
    }
}

impl Fingerprint {
    /// Adds one field; its length is mixed in so ("ab","c") != ("a","bc").
    pub fn field(&mut self, bytes: &[u8]) -> &mut Self {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let mut tail = [0u8; 8];
        let rem = chunks.remainder();
        tail[..rem.len()].copy_from_slice(rem);
        self.word(u64::from_le_bytes(tail));
        self.word(bytes.len() as u64 ^ 0xff51_afd7_ed55_8ccd);
        self
    }

    pub fn opt(&mut self, bytes: Option<&[u8]>) -> &mut Self {
        match bytes {
            Some(b) => self.field(b),
            None => self.word(0x5bd1_e995),
        }
    }

    #[inline]
    fn word(&mut self, w: u64) -> &mut Self {
        self.a = (self.a ^ w).wrapping_mul(K1).rotate_left(31);
        self.b = (self.b.rotate_left(27) ^ w)
            .wrapping_mul(K2)
            .wrapping_add(self.a);
        self
    }

    /// 32 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!(
            "{:016x}{:016x}",
            fmix(self.a ^ self.b.rotate_left(17)),
            fmix(self.b)
        )
    }
}

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// "h:" + SHA-1 hex of the parts, separated so boundaries count.
fn identity_hash(parts: &[&[u8]]) -> String {
    let mut h = sha1_smol::Sha1::new();
    for p in parts {
        h.update(p);
        h.update(b"\x00");
    }
    format!("h:{}", h.digest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_rules() {
        assert_eq!(
            entry_identity(Some(" g1 "), Some("http://x/"), "t", None),
            "g1"
        );
        assert_eq!(
            entry_identity(None, Some("http://x/"), "t", None),
            "http://x/"
        );
        let h = entry_identity(None, None, "t", Some("c"));
        assert!(h.starts_with("h:"));
        assert_eq!(h, entry_identity(Some(""), None, "t", Some("c")));
        assert!(entry_identity(Some(&"x".repeat(600)), None, "", None).starts_with("h:"));
    }

    #[test]
    fn stable_and_sensitive() {
        let fp = |a: &[u8], b: &[u8]| Fingerprint::default().field(a).field(b).hex();
        assert_eq!(fp(b"ab", b"c"), fp(b"ab", b"c"));
        assert_ne!(fp(b"ab", b"c"), fp(b"a", b"bc"));
        assert_ne!(fp(b"", b""), fp(b"\0", b""));
        // Pinned: fingerprints are stored, so the function must never change.
        assert_eq!(fp(b"hello", b"world"), "23b8d09c64bda678b9dcdd2af317f8b5");
        assert_eq!(identity_hash(&[b"a"]).len(), 42);
    }
}
