//! Secrets at rest: XChaCha20-Poly1305 under a master key kept outside the database.
//!
//! Every sealed value carries associated data naming where it belongs (table, row,
//! field), so a ciphertext copied to another row or field does not open.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretBox, SecretString};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// 64 hex digits, e.g. from `TENANTRY_MASTER_KEY`.
    Hex(SecretString),
    /// A file holding 64 hex digits, created with mode 0600 for a new catalog.
    File(PathBuf),
}

impl KeySource {
    pub fn describe(&self) -> String {
        match self {
            Self::Hex(_) => "TENANTRY_MASTER_KEY".to_owned(),
            Self::File(p) => format!("the key file {}", p.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "TENANTRY_MASTER_KEY must be 64 hex digits (a 32-byte key), e.g. from `openssl rand -hex 32`; {0}"
    )]
    BadHex(String),
    #[error("master key file {path} is not valid: {problem}; it must hold 64 hex digits")]
    BadFile { path: PathBuf, problem: String },
    #[error("cannot read or create master key file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the master key does not match this catalog: its secrets were encrypted with another key. \
         Use the key the catalog was made with ({0} was tried)"
    )]
    WrongKey(String),
    #[error(
        "this catalog holds encrypted secrets but the master key file {0} does not exist; \
         restore it, or give the key in TENANTRY_MASTER_KEY"
    )]
    MissingKeyFile(PathBuf),
    #[error("the stored secret {0} does not decrypt: it was altered or moved from another place")]
    Tampered(String),
}

/// Associated data: the place a sealed value belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub table: &'a str,
    pub row: &'a str,
    pub field: &'a str,
}

impl Place<'_> {
    fn aad(&self) -> Vec<u8> {
        format!("tenantry/v1/{}/{}/{}", self.table, self.row, self.field).into_bytes()
    }

    pub fn describe(&self) -> String {
        format!("{}.{} of {:?}", self.table, self.field, self.row)
    }
}

/// Seals and opens secrets with the master key.
pub struct Cipher {
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    fn from_key(key: &SecretBox<[u8; 32]>) -> Self {
        let aead = XChaCha20Poly1305::new(key.expose_secret().into());
        Self { aead }
    }

    pub fn seal(&self, place: Place<'_>, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XNonce::generate();
        let ct = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &place.aad(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, place: Place<'_>, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let tampered = || KeyError::Tampered(place.describe());
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(tampered());
        }
        let nonce = XNonce::try_from(&sealed[1..1 + NONCE_LEN]).map_err(|_| tampered())?;
        self.aead
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: &place.aad(),
                },
            )
            .map_err(|_| tampered())
    }

    pub fn seal_str(&self, place: Place<'_>, secret: &SecretString) -> Vec<u8> {
        self.seal(place, secret.expose_secret().as_bytes())
    }

    pub fn open_str(&self, place: Place<'_>, sealed: &[u8]) -> Result<SecretString, KeyError> {
        let bytes = self.open(place, sealed)?;
        String::from_utf8(bytes)
            .map(SecretString::from)
            .map_err(|_| KeyError::Tampered(place.describe()))
    }
}

fn parse_hex_key(text: &str) -> Result<SecretBox<[u8; 32]>, String> {
    let text = text.trim();
    if text.len() != 64 {
        return Err(format!("it has {} characters", text.len()));
    }
    let mut key = Box::new([0u8; 32]);
    hex::decode_to_slice(text, key.as_mut_slice())
        .map_err(|_| "it has a character that is not a hex digit".to_owned())?;
    Ok(SecretBox::new(key))
}

/// Reads the master key; creates the key file when `may_create` (a catalog with no
/// secrets sealed yet) and the file is missing. Returns whether a file was created.
pub(crate) fn load_key(
    source: &KeySource,
    may_create: bool,
) -> Result<(Cipher, Option<PathBuf>), KeyError> {
    match source {
        KeySource::Hex(hex) => {
            let key = parse_hex_key(hex.expose_secret()).map_err(KeyError::BadHex)?;
            Ok((Cipher::from_key(&key), None))
        }
        KeySource::File(path) => match fs::read_to_string(path) {
            Ok(text) => {
                let key = parse_hex_key(&text).map_err(|problem| KeyError::BadFile {
                    path: path.clone(),
                    problem,
                })?;
                Ok((Cipher::from_key(&key), None))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !may_create {
                    return Err(KeyError::MissingKeyFile(path.clone()));
                }
                let key = create_key_file(path)?;
                Ok((Cipher::from_key(&key), Some(path.clone())))
            }
            Err(source) => Err(KeyError::Io {
                path: path.clone(),
                source,
            }),
        },
    }
}

fn create_key_file(path: &Path) -> Result<SecretBox<[u8; 32]>, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let mut key = Box::new([0u8; 32]);
    getrandom::fill(key.as_mut_slice()).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(mut file) => {
            let text = hex::encode(key.as_slice()) + "\n";
            file.write_all(text.as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            Ok(SecretBox::new(key))
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = fs::read_to_string(path).map_err(io)?;
            parse_hex_key(&text).map_err(|problem| KeyError::BadFile {
                path: path.to_owned(),
                problem,
            })
        }
        Err(e) => Err(io(e)),
    }
}

/// Fills a buffer from the operating system's CSPRNG.
pub(crate) fn random_bytes(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        let src = KeySource::Hex(SecretString::from("11".repeat(32)));
        load_key(&src, false).unwrap().0
    }

    const A: Place<'static> = Place {
        table: "namespaces",
        row: "lms-dev",
        field: "token",
    };

    #[test]
    fn sealed_values_open_in_their_own_place_only() {
        let c = cipher();
        let sealed = c.seal(A, b"top secret");
        assert_eq!(c.open(A, &sealed).unwrap(), b"top secret");
        assert!(!sealed.windows(10).any(|w| w == b"top secret"));
        let other_row = Place {
            row: "lms-prod",
            ..A
        };
        assert!(matches!(
            c.open(other_row, &sealed),
            Err(KeyError::Tampered(_))
        ));
        let other_field = Place { field: "ca", ..A };
        assert!(c.open(other_field, &sealed).is_err());
    }

    #[test]
    fn a_flipped_bit_or_another_key_does_not_open() {
        let c = cipher();
        let mut sealed = c.seal(A, b"x");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(c.open(A, &sealed).is_err());
        let other = load_key(&KeySource::Hex(SecretString::from("22".repeat(32))), false)
            .unwrap()
            .0;
        assert!(other.open(A, &c.seal(A, b"x")).is_err());
    }

    #[test]
    fn bad_hex_keys_are_refused_with_the_reason() {
        let e = load_key(&KeySource::Hex(SecretString::from("abc")), false).unwrap_err();
        assert!(e.to_string().contains("64 hex digits"), "{e}");
        let e = load_key(&KeySource::Hex(SecretString::from("zz".repeat(32))), false).unwrap_err();
        assert!(e.to_string().contains("not a hex digit"), "{e}");
    }

    #[test]
    fn a_new_key_file_is_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("tenantry-key-{}", std::process::id()));
        let path = dir.join("sub/master.key");
        let _ = fs::remove_dir_all(&dir);
        let src = KeySource::File(path.clone());
        assert!(matches!(
            load_key(&src, false),
            Err(KeyError::MissingKeyFile(_))
        ));
        let (c1, created) = load_key(&src, true).unwrap();
        assert_eq!(created.as_deref(), Some(path.as_path()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let (c2, created) = load_key(&src, true).unwrap();
        assert!(created.is_none());
        assert_eq!(c2.open(A, &c1.seal(A, b"k")).unwrap(), b"k");
        fs::remove_dir_all(&dir).unwrap();
    }
}
