//! Passwords are never stored: the store keeps an Argon2id hash with a random
//! salt per user, as a PHC string (`$argon2id$v=19$m=…,t=…,p=1$salt$hash`), so
//! two users with the same password have different hashes and a stolen store
//! does not reveal passwords. The PHC string carries its own parameters, so
//! hashes made with another cost still verify.
//!
//! Hashing is slow on purpose (memory-hard). The server runs it on the
//! blocking thread pool, never on the threads that move chat messages.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2id cost: memory in KiB and passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for HashCost {
    /// OWASP's recommended minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        HashCost {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

impl HashCost {
    /// A cheap cost for tests and benchmarks that register thousands of users.
    /// Still salted Argon2id, but far weaker: never use it for real accounts.
    pub const TEST: HashCost = HashCost {
        memory_kib: 64,
        iterations: 1,
    };

    fn hasher(self) -> Result<Argon2<'static>, String> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|e| format!("bad Argon2 cost {self:?}: {e}"))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hashes `password` with a fresh random salt; returns the PHC string.
pub fn hash_password(password: &str, cost: HashCost) -> Result<String, String> {
    let hash = cost
        .hasher()?
        .hash_password(password.as_bytes())
        .map_err(|e| format!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `stored`.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_and_verify() {
        let a = hash_password("123456", HashCost::TEST).unwrap();
        let b = hash_password("123456", HashCost::TEST).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "same password, different salts");
        assert!(!a.contains("123456"));
        assert!(verify_password("123456", &a));
        assert!(!verify_password("123457", &a));
        assert!(!verify_password("123456", "not a hash"));
    }
}
