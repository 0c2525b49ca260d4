//! The cloud-init `NoCloud` seed of a libvirt server: a small FAT filesystem labelled `CIDATA`
//! holding `meta-data` (instance ID, host name) and `user-data` (`#cloud-config` with the
//! server's SSH keys), made in memory and uploaded as a volume next to the root volume, so an
//! image that uses cloud-init boots with the server's name and keys (as on 1cloud). Pure data
//! apart from the `fatfs` crate.

use std::io::{Cursor, Write as _};

/// The seed's size: FAT12 needs a little room; the files are a few KiB.
const SIZE: usize = 1 << 20;

/// What goes into a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed<'a> {
    /// Stays the same for the machine's life, so cloud-init configures it once.
    pub instance_id: &'a str,
    pub hostname: &'a str,
    /// OpenSSH public key lines.
    pub keys: &'a [String],
}

impl Seed<'_> {
    /// `meta-data`.
    pub fn meta_data(&self) -> String {
        format!(
            "instance-id: {}\nlocal-hostname: {}\n",
            yaml(self.instance_id),
            yaml(self.hostname)
        )
    }

    /// `user-data`.
    pub fn user_data(&self) -> String {
        let mut text = format!("#cloud-config\nhostname: {}\n", yaml(self.hostname));
        if !self.keys.is_empty() {
            text.push_str("ssh_authorized_keys:\n");
            for key in self.keys {
                text.push_str("  - ");
                text.push_str(&yaml(key.trim()));
                text.push('\n');
            }
        }
        text
    }

    /// The filesystem image.
    pub fn image(&self) -> std::io::Result<Vec<u8>> {
        let mut disk = Cursor::new(vec![0u8; SIZE]);
        fatfs::format_volume(
            &mut disk,
            fatfs::FormatVolumeOptions::new().volume_label(*b"CIDATA     "),
        )?;
        {
            let fs = fatfs::FileSystem::new(&mut disk, fatfs::FsOptions::new())?;
            for (name, text) in [
                ("meta-data", self.meta_data()),
                ("user-data", self.user_data()),
            ] {
                fs.root_dir()
                    .create_file(name)?
                    .write_all(text.as_bytes())?;
            }
            fs.unmount()?;
        }
        Ok(disk.into_inner())
    }
}

/// A YAML scalar: JSON's string syntax is YAML's double-quoted one.
fn yaml(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_lists_the_keys_quoted() {
        let keys = ["ssh-ed25519 AAAA deploy@laptop\n".to_owned()];
        let seed = Seed {
            instance_id: "ict-web-1",
            hostname: "web-1",
            keys: &keys,
        };
        assert_eq!(
            seed.user_data(),
            "#cloud-config\nhostname: \"web-1\"\nssh_authorized_keys:\n  - \"ssh-ed25519 AAAA deploy@laptop\"\n"
        );
        assert_eq!(
            seed.meta_data(),
            "instance-id: \"ict-web-1\"\nlocal-hostname: \"web-1\"\n"
        );
    }

    #[test]
    fn the_image_is_a_fat_filesystem_labelled_cidata_with_both_files() {
        let seed = Seed {
            instance_id: "i",
            hostname: "h",
            keys: &[],
        };
        let image = seed.image().expect("image");
        assert_eq!(image.len(), SIZE);
        let fs = fatfs::FileSystem::new(Cursor::new(image), fatfs::FsOptions::new()).expect("fs");
        assert_eq!(fs.volume_label().trim_end(), "CIDATA");
        let mut names: Vec<String> = fs
            .root_dir()
            .iter()
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["meta-data", "user-data"]);
    }
}
