//! Secret values: a type that cannot be printed by accident, and the one mask shown instead.

pub use secrecy::{ExposeSecret, SecretString};

/// What output shows in place of a secret value.
pub const MASK: &str = "••••••";

/// The text to show for a secret: the mask, or the value when the user asked to reveal it.
pub fn mask(secret: &SecretString, reveal: bool) -> String {
    if reveal {
        secret.expose_secret().to_owned()
    } else {
        MASK.to_owned()
    }
}
