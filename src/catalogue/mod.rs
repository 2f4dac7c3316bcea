//! Stage: the catalogue files — load them, check them, edit them, create them.
//!
//! - [`load`]: a catalogue directory → [`crate::model::Catalogue`] + diagnostics for files
//!   that cannot be read or parsed (bounded YAML, sorted walk).
//! - [`validate`]: static checks of a loaded catalogue (every problem at once, with spans).
//! - [`keys`]: the signature keys listings and policies name (E0601, E0602).
//! - [`mark`]: `berth mark`'s in-place, comment-preserving edit of one listing.
//! - [`init`]: the starter catalogue of `berth init`.
//! - [`suggest`]: "did you mean …?" close matches (unknown fields, unknown codes).
//! - [`unknown`]: unknown fields collected while parsing, so they do not hide the rest.
//!
//! Input: a directory. Output: typed models and diagnostics; only `mark` and `init` write.

pub mod init;
pub mod keys;
pub mod load;
pub mod mark;
pub mod suggest;
pub mod unknown;
pub mod validate;
