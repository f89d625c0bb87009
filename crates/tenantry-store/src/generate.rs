//! Values generated once per client (R9): passwords of letters and digits, random hex,
//! RSA private keys. Randomness comes from the operating system's CSPRNG.

use base64::Engine;
use rsa::PrivateKey;
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use rsa::pkcs8::EncodePrivateKey;
use secrecy::SecretString;
use tenantry_core::Generator;

use crate::crypto::random_bytes;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// How an RSA private key is written before base64: PKCS#1 (`BEGIN RSA PRIVATE KEY`) or
/// PKCS#8 (`BEGIN PRIVATE KEY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RsaFormat {
    #[default]
    Pkcs1,
    Pkcs8,
}

impl RsaFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pkcs1" => Some(Self::Pkcs1),
            "pkcs8" => Some(Self::Pkcs8),
            _ => None,
        }
    }
}

/// Makes one value.
pub fn generate(generator: Generator, rsa_format: RsaFormat) -> Result<SecretString, String> {
    match generator {
        Generator::Password { length } => Ok(SecretString::from(password(usize::from(length)))),
        Generator::Hex { bytes } => {
            let mut buf = vec![0u8; usize::from(bytes)];
            random_bytes(&mut buf);
            Ok(SecretString::from(hex::encode(buf)))
        }
        Generator::RsaKey { bits } => {
            let key = PrivateKey::new(&mut getrandom::SysRng, usize::from(bits))
                .map_err(|e| format!("RSA key generation failed: {e}"))?;
            let pem = match rsa_format {
                RsaFormat::Pkcs1 => key
                    .to_pkcs1_pem(LineEnding::LF)
                    .map_err(|e| e.to_string())?,
                RsaFormat::Pkcs8 => key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| e.to_string())?,
            };
            let b64 = base64::engine::general_purpose::STANDARD.encode(pem.as_bytes());
            Ok(SecretString::from(b64))
        }
    }
}

/// Letters and digits only, uniformly drawn (bytes ≥ 248 are dropped to avoid bias).
fn password(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        random_bytes(&mut buf);
        for &b in &buf {
            if out.len() == len {
                break;
            }
            if usize::from(b) < 248 {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn passwords_are_letters_and_digits_and_differ() {
        let a = generate(Generator::Password { length: 32 }, RsaFormat::Pkcs1).unwrap();
        let b = generate(Generator::Password { length: 32 }, RsaFormat::Pkcs1).unwrap();
        assert_eq!(a.expose_secret().len(), 32);
        assert!(a.expose_secret().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn the_secret_seed_is_128_lower_case_hex_digits() {
        let s = generate(Generator::Hex { bytes: 64 }, RsaFormat::Pkcs1).unwrap();
        assert_eq!(s.expose_secret().len(), 128);
        assert!(
            s.expose_secret()
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
    }

    #[test]
    fn rsa_keys_are_2048_bit_pem_in_base64() {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let s = generate(Generator::RsaKey { bits: 2048 }, RsaFormat::Pkcs1).unwrap();
        let pem = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(s.expose_secret())
                .unwrap(),
        )
        .unwrap();
        assert!(
            pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"),
            "{pem}"
        );
        let key = PrivateKey::from_pkcs1_pem(&pem).unwrap();
        assert_eq!(key.size() * 8, 2048);
        let s8 = generate(Generator::RsaKey { bits: 2048 }, RsaFormat::Pkcs8).unwrap();
        let pem8 = base64::engine::general_purpose::STANDARD
            .decode(s8.expose_secret())
            .unwrap();
        assert!(pem8.starts_with(b"-----BEGIN PRIVATE KEY-----\n"));
    }
}
