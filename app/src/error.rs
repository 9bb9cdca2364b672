//! The one error type of the console's server functions, shown to administrators as is.

use fennec_core::views::FieldError;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a console operation failed, in words fit for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ConsoleError {
    #[error("{0}")]
    Message(String),
    #[error("Some fields need attention.")]
    Fields(Vec<FieldError>),
    #[error("Your session has ended. Please sign in.")]
    SignedOut,
    /// The change takes something away from others, named in the message; it can be confirmed.
    #[error("{0}")]
    NeedsConfirmation(String),
    #[error("The server could not be reached: {0}")]
    Transport(String),
}

impl ConsoleError {
    /// The message for one form field, if the server refused it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            ConsoleError::Fields(fields) => fields
                .iter()
                .find(|f| f.field == name)
                .map(|f| f.message.clone()),
            _ => None,
        }
    }

    /// The line shown above a form: field messages stand beside their fields instead.
    pub fn summary(&self) -> String {
        self.to_string()
    }
}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        ConsoleError::Transport(value.to_string())
    }
}
