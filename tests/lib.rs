//! Integration tests: drive the real `ict` binary.
mod provider;
