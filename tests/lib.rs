//! Integration tests: drive the real `ict` binary.
mod emulator;
