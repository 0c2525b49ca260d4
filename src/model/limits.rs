//! The limits of the 1cloud API, in one table, used by script validation and by the emulator.
//!
//! Source: docs/1cloud-api.md §3.1 (the official "create server" page, copied by the Python and
//! .NET clients) and §2.6 (DNS TTLs). Pure data; depends on nothing.

/// Smallest and largest number of vCPUs.
pub const CPU: (u32, u32) = (1, 8);
/// Largest RAM in MB.
pub const RAM_MAX_MB: u32 = 16_384;
/// Smallest RAM in MB for Linux/BSD images.
pub const RAM_MIN_MB_LINUX: u32 = 512;
/// Smallest RAM in MB for Windows images.
pub const RAM_MIN_MB_WINDOWS: u32 = 1024;
/// Largest disk in GB.
pub const DISK_MAX_GB: u32 = 250;
/// Smallest disk in GB for Linux/BSD images.
pub const DISK_MIN_GB_LINUX: u32 = 10;
/// Smallest disk in GB for Windows images.
pub const DISK_MIN_GB_WINDOWS: u32 = 40;
/// Disk sizes are multiples of this many GB.
pub const DISK_STEP_GB: u32 = 10;
/// Accepted disk types.
pub const DISK_TYPES: &[&str] = &["SSD", "SAS"];
/// Accepted backup periods, in days.
pub const BACKUP_PERIODS_DAYS: &[u32] = &[7, 14, 21, 28];
/// TTLs the 1cloud DNS accepts, in seconds.
pub const DNS_TTLS: &[u32] = &[
    1, 5, 30, 60, 300, 600, 900, 1800, 3600, 7200, 21160, 43200, 86400,
];
/// The data centre used when none is given (the API's own fallback).
pub const DEFAULT_DC: &str = "SdnSpb";

/// Whether `ram` MB is a size 1cloud accepts: steps of 256 MB up to 1024, then steps of 1024.
pub fn ram_step_ok(ram: u32) -> bool {
    if ram <= 1024 {
        ram.is_multiple_of(256)
    } else {
        ram.is_multiple_of(1024)
    }
}

/// The accepted RAM sizes nearest to `ram`, for a "did you mean" hint.
pub fn nearest_ram(ram: u32) -> (u32, u32) {
    let step = if ram < 1024 { 256 } else { 1024 };
    let below = (ram / step) * step;
    (below.max(RAM_MIN_MB_LINUX), (below + step).min(RAM_MAX_MB))
}

/// Checks a server size against the limits. `windows` selects the Windows minimums. Returns the
/// field name and a human explanation for each violation.
pub fn check_server(cpu: u32, ram: u32, disk: u32, windows: bool) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if !(CPU.0..=CPU.1).contains(&cpu) {
        problems.push((
            "cpu",
            format!("cpu must be between {} and {}, got {cpu}", CPU.0, CPU.1),
        ));
    }
    let ram_min = if windows {
        RAM_MIN_MB_WINDOWS
    } else {
        RAM_MIN_MB_LINUX
    };
    if !(ram_min..=RAM_MAX_MB).contains(&ram) {
        problems.push((
            "ram",
            format!("ram must be between {ram_min} and {RAM_MAX_MB} MB, got {ram}"),
        ));
    } else if !ram_step_ok(ram) {
        let (a, b) = nearest_ram(ram);
        problems.push((
            "ram",
            format!(
                "ram must be a multiple of 256 MB up to 1024 MB and of 1024 MB above; \
                 {ram} is not (nearest: {a} or {b})"
            ),
        ));
    }
    let disk_min = if windows {
        DISK_MIN_GB_WINDOWS
    } else {
        DISK_MIN_GB_LINUX
    };
    if !(disk_min..=DISK_MAX_GB).contains(&disk) {
        problems.push((
            "disk",
            format!("disk must be between {disk_min} and {DISK_MAX_GB} GB, got {disk}"),
        ));
    } else if !disk.is_multiple_of(DISK_STEP_GB) {
        problems.push((
            "disk",
            format!("disk must be a multiple of {DISK_STEP_GB} GB, got {disk}"),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_steps() {
        for (ram, ok) in [
            (512, true),
            (768, true),
            (1000, false),
            (1024, true),
            (1536, false),
            (2048, true),
        ] {
            assert_eq!(ram_step_ok(ram), ok, "{ram}");
        }
    }

    #[test]
    fn server_limits() {
        assert!(check_server(2, 2048, 40, false).is_empty());
        assert!(check_server(1, 512, 10, false).is_empty());
        let fields: Vec<_> = check_server(9, 1536, 15, false)
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(fields, ["cpu", "ram", "disk"]);
        assert_eq!(check_server(1, 512, 10, true).len(), 2);
    }
}
