//! Fennec's domain: naming rules, the OAuth 2.0 client credentials protocol core and storage.

pub mod rules;

#[cfg(feature = "server")]
pub mod assertion;
#[cfg(feature = "server")]
pub mod certificate;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod hashing;
#[cfg(feature = "server")]
pub mod keys;
#[cfg(feature = "server")]
pub mod names;
#[cfg(feature = "pkcs12")]
pub mod pkcs12;
#[cfg(feature = "server")]
pub mod proven;
#[cfg(feature = "server")]
pub mod recent;
#[cfg(feature = "server")]
pub mod request;
#[cfg(feature = "server")]
pub mod scope;
#[cfg(feature = "server")]
pub mod secret;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod throttle;
#[cfg(feature = "server")]
pub mod token;
pub mod upload;
pub mod views;
