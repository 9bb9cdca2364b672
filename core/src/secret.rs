//! Client secrets and admin passwords: generation, rules, Argon2id hashing and verification.

use std::cell::RefCell;
use std::fmt;

use argon2::password_hash::rand_core::OsRng as HashRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// Shortest secret an admin may type in.
pub const MIN_ADMIN_SECRET_LEN: usize = 8;

/// Longest secret an admin may type in.
pub const MAX_ADMIN_SECRET_LEN: usize = 300;

/// Secrets longer than this keep their first characters as a hint (SPEC 3.4).
const INFO_THRESHOLD: usize = 20;

/// How many leading characters of a secret its hint keeps.
const INFO_LEN: usize = 3;

/// A plain client secret, held only as long as needed; redacted in `Debug`, never serialised.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Generates a new secret: 32 random bytes, base64url without padding (43 characters).
    pub fn generate() -> Secret {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);

        Secret(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts a secret typed by an admin: 8 to 300 characters, no control characters.
    pub fn from_admin(input: &str) -> Result<Secret, SecretRuleError> {
        let length = input.chars().count();

        if length < MIN_ADMIN_SECRET_LEN {
            return Err(SecretRuleError::TooShort);
        }
        if length > MAX_ADMIN_SECRET_LEN {
            return Err(SecretRuleError::TooLong);
        }
        // A pasted trailing newline would silently become part of the secret and no client
        // could ever send it back.
        if input.chars().any(char::is_control) {
            return Err(SecretRuleError::ControlCharacter);
        }

        Ok(Secret(input.to_owned()))
    }

    /// Wraps a secret as a client presented it, without applying the admin rules.
    pub fn from_presented(value: String) -> Secret {
        Secret(value)
    }

    /// The plain secret, for hashing, verifying or showing once at creation.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Why a secret typed by an admin was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretRuleError {
    /// Fewer than [`MIN_ADMIN_SECRET_LEN`] characters.
    #[error("A secret needs at least 8 characters.")]
    TooShort,
    /// More than [`MAX_ADMIN_SECRET_LEN`] characters.
    #[error("A secret can have at most 300 characters.")]
    TooLong,
    /// A line break, tab or other control character.
    #[error("A secret cannot contain line breaks, tabs or other control characters.")]
    ControlCharacter,
}

/// Hashing failed; the cause is deliberately not carried so that nothing of the input leaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The secret could not be hashed.")]
pub struct SecretError;

/// The hint kept beside a secret's hash: its first 3 characters when it is longer than 20.
pub fn secret_info(secret: &str) -> Option<String> {
    if secret.chars().count() > INFO_THRESHOLD {
        Some(secret.chars().take(INFO_LEN).collect())
    } else {
        None
    }
}

/// Hashes a client secret with Argon2id into a PHC string, exactly as admin passwords are.
pub fn hash_secret(secret: &Secret) -> Result<String, SecretError> {
    hash_password(secret.expose())
}

/// Hashes a password with Argon2id and the crate's default parameters into a PHC string.
pub fn hash_password(password: &str) -> Result<String, SecretError> {
    hash_with(&Argon2::default(), password)
}

fn hash_with(hasher: &Argon2<'_>, password: &str) -> Result<String, SecretError> {
    let salt = SaltString::generate(&mut HashRng);

    hasher
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| SecretError)
}

/// Checks a password against a PHC string in constant time; a malformed PHC string never matches.
///
/// The Argon2 working memory (about 19 MiB with the default parameters) is allocated once per
/// thread and reused: allocating and freeing it for every check makes the system allocator
/// raise its threshold for returning large blocks to the system, after which each hashing
/// thread keeps several such blocks and the process grows by hundreds of megabytes.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    // The parameters come from the PHC string itself, so older hashes keep verifying
    // after the defaults change.
    let (Ok(algorithm), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), Params::try_from(&hash))
    else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_buffer = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buffer) else {
        return false;
    };

    let hasher = Argon2::new(algorithm, version, params.clone());
    let mut computed = vec![0u8; expected.len()];
    let done = ARGON2_MEMORY.with(|memory| {
        let Ok(mut memory) = memory.try_borrow_mut() else {
            return false;
        };
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        hasher
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut computed,
                &mut memory[..blocks],
            )
            .is_ok()
    });
    done && bool::from(computed.as_slice().ct_eq(expected.as_bytes()))
}

thread_local! {
    /// This thread's Argon2 working memory, kept between checks (see [`verify_password`]).
    static ARGON2_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// One stored secret of a client: its Argon2id hash, hint and optional expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// Identifier of the stored secret.
    pub id: String,
    /// Argon2id PHC string.
    pub hash: String,
    /// First 3 characters of the secret when it is longer than 20, see [`secret_info`].
    pub info: Option<String>,
    /// When it stops authenticating, in unix seconds.
    pub expires_at: Option<i64>,
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSecret")
            .field("id", &self.id)
            .field("hash", &"***")
            .field("info", &self.info)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl StoredSecret {
    /// Whether the secret has expired at `now` (unix seconds); it expires at its instant.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|expires_at| now >= expires_at)
    }
}

/// Checks a presented secret against a client's stored secrets (SPEC 4.6).
///
/// Only unexpired secrets whose hint matches the presented secret's first characters, or
/// that have no hint, are tried; the whole presented secret must match one of them.
pub fn verify_secret(presented: &str, stored: &[StoredSecret], now: i64) -> bool {
    stored
        .iter()
        .filter(|candidate| is_candidate(candidate, presented, now))
        .any(|candidate| verify_password(presented, &candidate.hash))
}

/// Like [`verify_secret`], but when no stored secret is a candidate it spends one verification
/// on `decoy_hash`, so that an unknown client or a mismatched hint takes as long as a real check.
pub fn verify_secret_evenly(
    presented: &str,
    stored: &[StoredSecret],
    now: i64,
    decoy_hash: &str,
) -> bool {
    matching_secret_evenly(presented, stored, now, decoy_hash).is_some()
}

/// Like [`verify_secret_evenly`], naming the stored secret that matched.
pub fn matching_secret_evenly(
    presented: &str,
    stored: &[StoredSecret],
    now: i64,
    decoy_hash: &str,
) -> Option<String> {
    let mut candidates = stored
        .iter()
        .filter(|c| is_candidate(c, presented, now))
        .peekable();
    if candidates.peek().is_none() {
        let _ = verify_password(presented, decoy_hash);
        return None;
    }
    candidates
        .find(|c| verify_password(presented, &c.hash))
        .map(|c| c.id.clone())
}

/// The stored secrets that `presented` may be at `now`: unexpired, with a matching hint or none.
pub fn candidates<'a>(
    presented: &str,
    stored: &'a [StoredSecret],
    now: i64,
) -> Vec<&'a StoredSecret> {
    stored
        .iter()
        .filter(|c| is_candidate(c, presented, now))
        .collect()
}

fn is_candidate(candidate: &StoredSecret, presented: &str, now: i64) -> bool {
    let prefix: String = presented.chars().take(INFO_LEN).collect();
    !presented.is_empty()
        && !candidate.is_expired(now)
        && candidate.info.as_ref().is_none_or(|info| *info == prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{Algorithm, Params, Version};

    /// Cheap Argon2id parameters, so that verification tests stay fast; verification reads
    /// the parameters from the PHC string, so the code under test is unchanged.
    fn quick_hash(secret: &str) -> String {
        let params = Params::new(8, 1, 1, None).unwrap();
        let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        hash_with(&hasher, secret).unwrap()
    }

    fn stored(secret: &str, expires_at: Option<i64>) -> StoredSecret {
        StoredSecret {
            id: "s1".into(),
            hash: quick_hash(secret),
            info: secret_info(secret),
            expires_at,
        }
    }

    #[test]
    fn even_check_never_accepts_the_decoy() {
        let decoy = quick_hash("decoy-value-of-the-server");

        assert!(!verify_secret_evenly(
            "decoy-value-of-the-server",
            &[],
            0,
            &decoy
        ));
    }

    #[test]
    fn even_check_accepts_a_matching_stored_secret() {
        let secret = "abcdefghijklmnopqrstuvwxyz";
        let decoy = quick_hash("decoy-value-of-the-server");

        assert!(verify_secret_evenly(
            secret,
            &[stored(secret, None)],
            0,
            &decoy
        ));
        assert!(!verify_secret_evenly(
            "abcdefghijklmnopqrstuvwxyZ",
            &[stored(secret, None)],
            0,
            &decoy
        ));
    }

    #[test]
    fn generated_secret_is_43_base64url_characters() {
        let secret = Secret::generate();

        assert_eq!(secret.expose().len(), 43);
        assert!(secret
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(secret.expose()).unwrap().len(), 32);
    }

    #[test]
    fn generated_secrets_differ() {
        assert_ne!(Secret::generate().expose(), Secret::generate().expose());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = Secret::from_presented("hunter2-hunter2".into());

        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }

    #[test]
    fn stored_secret_debug_hides_the_hash() {
        let entry = StoredSecret {
            id: "s1".into(),
            hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
            info: None,
            expires_at: None,
        };

        assert!(!format!("{entry:?}").contains("argon2id"));
    }

    #[test]
    fn admin_secret_length_limits_are_8_and_300_characters() {
        assert_eq!(
            Secret::from_admin("1234567").unwrap_err(),
            SecretRuleError::TooShort
        );
        assert_eq!(Secret::from_admin("12345678").unwrap().expose(), "12345678");
        assert!(Secret::from_admin(&"é".repeat(300)).is_ok());
        assert_eq!(
            Secret::from_admin(&"x".repeat(301)).unwrap_err(),
            SecretRuleError::TooLong
        );
    }

    #[test]
    fn admin_secret_with_newline_is_refused() {
        assert_eq!(
            Secret::from_admin("my-secret-value\n").unwrap_err(),
            SecretRuleError::ControlCharacter
        );
    }

    #[test]
    fn secret_of_20_characters_keeps_no_info() {
        assert_eq!(secret_info(&"a".repeat(20)), None);
    }

    #[test]
    fn secret_of_21_characters_keeps_its_first_three() {
        assert_eq!(secret_info("abcdefghijklmnopqrstu"), Some("abc".into()));
    }

    #[test]
    fn secret_info_counts_characters_not_bytes() {
        let secret = format!("ééé{}", "x".repeat(18));

        assert_eq!(secret_info(&secret), Some("ééé".into()));
    }

    #[test]
    fn hash_uses_argon2id_with_default_parameters_and_verifies() {
        let secret = Secret::from_presented("correct horse battery staple".into());

        let phc = hash_secret(&secret).unwrap();

        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password(secret.expose(), &phc));
        assert!(!verify_password("correct horse battery stapler", &phc));
    }

    #[test]
    fn verification_agrees_with_the_library_for_other_parameters() {
        use argon2::password_hash::PasswordVerifier;
        let phc = quick_hash("s3cret-value");
        let parsed = PasswordHash::new(&phc).unwrap();

        for candidate in ["s3cret-value", "s3cret-valuE", ""] {
            let library = Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok();
            assert_eq!(verify_password(candidate, &phc), library, "{candidate:?}");
        }
        assert!(verify_password("s3cret-value", &phc));
    }

    #[test]
    fn the_working_memory_is_allocated_once_per_thread_and_reused() {
        std::thread::spawn(|| {
            let phc = hash_password("password of the day").unwrap();
            assert!(verify_password("password of the day", &phc));
            let first = ARGON2_MEMORY.with(|m| m.borrow().as_ptr());
            assert!(!verify_password("another password", &phc));
            let second = ARGON2_MEMORY.with(|m| m.borrow().as_ptr());

            assert_eq!(first, second, "the same memory serves the next check");
            let blocks = ARGON2_MEMORY.with(|m| m.borrow().len());
            assert_eq!(blocks, Params::default().block_count());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn malformed_phc_string_never_verifies() {
        assert!(!verify_password("anything", "not-a-phc-string"));
        assert!(!verify_password("anything", ""));
    }

    #[test]
    fn matching_secret_verifies() {
        let secret = "Zm9vYmFyYmF6cXV4LXNlY3JldC12YWx1ZS0xMjM0NTY";

        assert!(verify_secret(secret, &[stored(secret, None)], 1_000));
    }

    #[test]
    fn truncated_or_extended_secret_does_not_verify() {
        let secret = "Zm9vYmFyYmF6cXV4LXNlY3JldC12YWx1ZS0xMjM0NTY";
        let entries = [stored(secret, None)];

        assert!(!verify_secret(&secret[..42], &entries, 1_000));
        assert!(!verify_secret(&secret[..20], &entries, 1_000));
        assert!(!verify_secret(&format!("{secret}x"), &entries, 1_000));
    }

    #[test]
    fn expired_secret_does_not_verify() {
        let secret = "short-secret";

        assert!(verify_secret(secret, &[stored(secret, Some(1_001))], 1_000));
        assert!(!verify_secret(
            secret,
            &[stored(secret, Some(1_000))],
            1_000
        ));
        assert!(!verify_secret(secret, &[stored(secret, Some(999))], 1_000));
    }

    #[test]
    fn secret_is_found_among_several_and_skips_mismatched_info() {
        let wanted = "xyz-this-is-the-right-secret";
        let mut decoy = stored("abc-another-secret-entirely", None);
        // A candidate whose hint differs is never tried, even if its hash would match.
        decoy.hash = quick_hash(wanted);
        let entries = [decoy, stored("plain-one", None), stored(wanted, None)];

        assert!(verify_secret(wanted, &entries, 0));
        assert!(!verify_secret(wanted, &entries[..2], 0));
    }

    #[test]
    fn secret_without_info_is_always_a_candidate() {
        let secret = "abcdefghijklmnopqrstuvwxyz";
        let mut entry = stored(secret, None);
        entry.info = None;

        assert!(verify_secret(secret, &[entry], 0));
    }

    #[test]
    fn empty_secret_never_verifies() {
        let entry = StoredSecret {
            id: "s1".into(),
            hash: quick_hash(""),
            info: None,
            expires_at: None,
        };

        assert!(!verify_secret("", &[entry], 0));
    }
}
