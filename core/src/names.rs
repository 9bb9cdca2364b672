//! Generated application names, for registrations whose name was left blank.

use rand::rngs::OsRng;
use rand::Rng;

use crate::rules::{GENERATED_NAME_LEN, NAME_ALPHABET};

/// Returns a fresh random name of [`GENERATED_NAME_LEN`] characters from [`NAME_ALPHABET`].
pub fn generate_name() -> String {
    let alphabet = NAME_ALPHABET.as_bytes();

    (0..GENERATED_NAME_LEN)
        .map(|_| char::from(alphabet[OsRng.gen_range(0..alphabet.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::normalize_name;

    #[test]
    fn generated_name_has_eight_alphabet_characters() {
        let name = generate_name();

        assert_eq!(name.chars().count(), GENERATED_NAME_LEN);
        assert!(name.chars().all(|c| NAME_ALPHABET.contains(c)), "{name}");
    }

    #[test]
    fn generated_name_is_already_a_valid_normalized_name() {
        let name = generate_name();

        assert_eq!(normalize_name(&name).as_deref(), Ok(name.as_str()));
    }

    #[test]
    fn generated_names_differ() {
        // 31^8 possible names: a repeat here means the generator is not random.
        assert_ne!(generate_name(), generate_name());
    }
}
