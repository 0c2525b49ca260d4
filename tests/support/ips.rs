//! Loopback blocks for the tests' emulators, so that two emulators running at once never give
//! servers the same address (each binds its servers' port 22, and 9100 for metrics).
//!
//! `ict` commands pick their emulator's block by hashing the project's account file
//! (`ict::emulator::ip_base_for`, within 127.2–251.x); [`project_block`] makes each test
//! project's block unique in this test run. Emulators a test starts in-process take
//! [`ip_base`], a block from 127.252–254.x, which no project hash gives.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// Blocks in 127.252.0.0–127.254.255.0.
const BLOCKS: u32 = 3 * 256;

/// A loopback block no other emulator of this test run uses (the first server's address).
pub fn ip_base() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Another test run on this machine starts elsewhere in the range.
    let n = (std::process::id() * 97 + NEXT.fetch_add(1, Ordering::Relaxed)) % BLOCKS;
    Ipv4Addr::new(127, 252 + (n / 256) as u8, (n % 256) as u8, 10)
}

/// Claims the block that `ict` commands in `project` give their emulator's servers; false when
/// another project of this test run has it (take another folder).
pub fn project_block(project: &Path) -> bool {
    static TAKEN: Mutex<Option<HashSet<Ipv4Addr>>> = Mutex::new(None);
    let project = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_owned());
    let block = ict::emulator::ip_base_for(&project.join(".ict").join("emulator.json"));
    TAKEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get_or_insert_with(HashSet::new)
        .insert(block)
}
