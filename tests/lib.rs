//! Integration tests: drive the real `ict` binary.

mod ssh;
mod support {
    pub(crate) mod sshd;
}
