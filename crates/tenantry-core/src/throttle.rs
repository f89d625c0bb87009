//! How failed logins slow further tries (ASVS 6.3.1): never a lockout the owner cannot
//! get past, but growing delays counted separately per account, per source address and
//! per (account, address).
//!
//! An attacker at one address is slowed by the pair and address counts after a few
//! tries, without touching the owner at another address. An attacker spread over many
//! addresses is slowed by the account count, which does not apply at the addresses the
//! owner logged in from before. Tries made while a delay runs are refused unchecked and
//! not counted, so they cannot extend it; failures older than an hour are forgotten.

/// What a failure count is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One account, from any address.
    Account,
    /// One source address, for any account.
    Address,
    /// One account from one address.
    Pair,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Account, Scope::Address, Scope::Pair];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
            Scope::Pair => "pair",
        }
    }

    /// Failures allowed without delay.
    pub fn free(self) -> u32 {
        match self {
            Scope::Pair => 3,
            Scope::Address => 10,
            Scope::Account => 20,
        }
    }

    /// The longest delay, in seconds.
    pub fn cap_s(self) -> i64 {
        match self {
            Scope::Pair | Scope::Address => 15 * 60,
            Scope::Account => 5 * 60,
        }
    }
}

/// Failures older than this (seconds) no longer count.
pub const WINDOW_S: i64 = 60 * 60;

/// The delay after the `failures`-th failure in `scope`: none while within the free
/// tries, then 1, 2, 4, … seconds up to the scope's cap.
pub fn delay_s(scope: Scope, failures: u32) -> i64 {
    let over = failures.saturating_sub(scope.free());
    if over == 0 {
        return 0;
    }
    let exp = (over - 1).min(20);
    (1i64 << exp).min(scope.cap_s())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_the_free_tries_and_stop_at_the_cap() {
        let pair: Vec<i64> = (1..=8).map(|n| delay_s(Scope::Pair, n)).collect();
        assert_eq!(pair, [0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(delay_s(Scope::Pair, 1000), 900);
        assert_eq!(delay_s(Scope::Account, 20), 0);
        assert_eq!(delay_s(Scope::Account, 21), 1);
        assert_eq!(delay_s(Scope::Account, u32::MAX), 300);
    }
}
