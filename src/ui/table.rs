//! Aligned text tables for people (`ict cloud ...`), and the layouts of the cloud listings.
//!
//! Columns are padded to the widest cell (counted in characters, so Cyrillic names align),
//! separated by two spaces, numbers right-aligned, no trailing spaces. Rows keep the order they
//! were added in; callers sort. May depend on `provider` types (plain data).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::provider::{
    DcLocation, Image, ObservedDomain, ObservedNetwork, ObservedPool, ObservedServer,
    ObservedSshKey, ObservedVolume,
};

/// A table: a header line and rows of cells.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers, all left-aligned.
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            right: vec![false; headers.len()],
            rows: Vec::new(),
        }
    }

    /// Right-aligns the named columns (numbers).
    #[must_use]
    pub fn right_align(mut self, columns: &[&str]) -> Table {
        for (i, header) in self.headers.iter().enumerate() {
            if columns.contains(header) {
                self.right[i] = true;
            }
        }
        self
    }

    /// Adds a row; missing cells are blank, extra cells are dropped. Empty cells show `-`;
    /// control characters (a name from the cloud may hold any) are escaped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.headers.len(), String::new());
        for cell in &mut cells {
            if cell.is_empty() {
                "-".clone_into(cell);
            } else if let Cow::Owned(escaped) = super::escape(cell) {
                *cell = escaped;
            }
        }
        self.rows.push(cells);
    }

    /// Number of rows (without the header).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row, each ending in a newline.
    pub fn render(&self) -> String {
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|row| row[i].chars().count())
                .chain(std::iter::once(self.headers[i].chars().count()))
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.headers.len()).map(width).collect();
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i].saturating_sub(cell.chars().count());
                if self.right[i] {
                    let _ = write!(line, "{}{cell}", " ".repeat(pad));
                } else {
                    let _ = write!(line, "{cell}{}", " ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn opt(value: Option<&str>) -> String {
    value.unwrap_or_default().to_owned()
}

fn yes(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

/// `ict cloud servers`.
pub fn servers(servers: &[ObservedServer]) -> Table {
    let mut table = Table::new(&[
        "ID", "NAME", "STATE", "POWER", "CPU", "RAM", "DISK", "IMAGE", "DC", "POOL", "IP",
        "PRIVATE",
    ])
    .right_align(&["ID", "CPU", "RAM", "DISK"]);
    for s in servers {
        let private: Vec<String> = s
            .private_links()
            .map(|l| format!("{}:{}", l.network_id, l.ip.as_deref().unwrap_or("?")))
            .collect();
        table.row(vec![
            s.id.to_string(),
            s.name.clone(),
            s.state.to_string(),
            if s.power_on { "on" } else { "off" }.to_owned(),
            s.cpu.to_string(),
            format!("{} MB", s.ram),
            format!("{} GB {}", s.disk, s.disk_type)
                .trim_end()
                .to_owned(),
            s.image.clone(),
            s.dc.clone(),
            if s.high_performance { "high" } else { "base" }.to_owned(),
            opt(s.ip.as_deref()),
            private.join(" "),
        ]);
    }
    table
}

/// `ict cloud images`.
pub fn images(images: &[Image]) -> Table {
    let mut table = Table::new(&["ID", "NAME", "DISPLAY NAME", "FAMILY", "MIN DISK", "DC"])
        .right_align(&["ID", "MIN DISK"]);
    for i in images {
        table.row(vec![
            i.id.to_string(),
            i.name.clone(),
            i.display_name.clone(),
            opt(i.family.as_deref()),
            i.min_disk.map(|gb| format!("{gb} GB")).unwrap_or_default(),
            opt(i.dc.as_deref()),
        ]);
    }
    table
}

/// `ict cloud pools`.
pub fn pools(pools: &[ObservedPool]) -> Table {
    let mut table = Table::new(&["ID", "NAME", "TYPE", "PATH", "ACTIVE", "SIZE", "FREE"])
        .right_align(&["ID", "SIZE", "FREE"]);
    for p in pools {
        table.row(vec![
            p.id.to_string(),
            p.name.clone(),
            p.kind.clone(),
            p.path.clone(),
            yes(p.active),
            format!("{} GB", p.capacity),
            format!("{} GB", p.available),
        ]);
    }
    table
}

/// `ict cloud volumes`; `servers` names the servers volumes are disks of.
pub fn volumes(volumes: &[ObservedVolume], servers: &[ObservedServer]) -> Table {
    let mut table = Table::new(&["ID", "NAME", "POOL", "SIZE", "FORMAT", "DISK OF"])
        .right_align(&["ID", "SIZE"]);
    for v in volumes {
        let disk_of = v.attached_to.map(|id| {
            servers
                .iter()
                .find(|s| s.id == id)
                .map_or_else(|| id.to_string(), |s| s.name.clone())
        });
        table.row(vec![
            v.id.to_string(),
            v.name.clone(),
            v.pool_name.clone(),
            format!("{} GB", v.size),
            v.format.clone(),
            opt(disk_of.as_deref()),
        ]);
    }
    table
}

/// `ict cloud dcs`.
pub fn dcs(dcs: &[DcLocation]) -> Table {
    let mut table = Table::new(&[
        "DC",
        "TITLE",
        "SHORT",
        "CITY",
        "BASE POOL",
        "HIGH POOL",
        "BACKUP",
        "IPV6",
    ]);
    for d in dcs {
        table.row(vec![
            d.tech_title.clone(),
            d.title.clone(),
            opt(d.short_title.as_deref()),
            opt(d.city.as_deref()),
            yes(d.low_pool),
            yes(d.high_pool),
            yes(d.backup),
            yes(d.ipv6),
        ]);
    }
    table
}

/// `ict cloud networks`.
pub fn networks(networks: &[ObservedNetwork]) -> Table {
    let mut table =
        Table::new(&["ID", "NAME", "STATE", "DC", "DHCP", "SERVERS"]).right_align(&["ID"]);
    for n in networks {
        let servers: Vec<String> = n
            .servers
            .iter()
            .map(|m| format!("{}:{}", m.server, m.ip.as_deref().unwrap_or("?")))
            .collect();
        table.row(vec![
            n.id.to_string(),
            n.name.clone(),
            n.state.clone(),
            opt(n.dc.as_deref()),
            yes(n.dhcp),
            servers.join(" "),
        ]);
    }
    table
}

/// `ict cloud keys`: the key is shortened to its type, start and comment.
pub fn ssh_keys(keys: &[ObservedSshKey]) -> Table {
    let mut table = Table::new(&["ID", "TITLE", "KEY"]).right_align(&["ID"]);
    for k in keys {
        table.row(vec![
            k.id.to_string(),
            k.title.clone(),
            short_key(&k.public_key),
        ]);
    }
    table
}

fn short_key(key: &str) -> String {
    let mut parts = key.split_whitespace();
    let (Some(kind), Some(data)) = (parts.next(), parts.next()) else {
        return key.chars().take(24).collect();
    };
    let rest: Vec<&str> = parts.collect();
    let data: String = if data.chars().count() > 16 {
        let head: String = data.chars().take(12).collect();
        format!("{head}…")
    } else {
        data.to_owned()
    };
    [kind, &data]
        .into_iter()
        .chain(rest)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `ict cloud dns`: one row per record, a domain without records shows once.
pub fn domains(domains: &[ObservedDomain]) -> Table {
    let mut table = Table::new(&[
        "DOMAIN", "ID", "NAME", "TYPE", "VALUE", "TTL", "PRIO", "STATE",
    ])
    .right_align(&["ID", "TTL", "PRIO"]);
    for d in domains {
        if d.records.is_empty() {
            table.row(vec![
                d.name.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                d.state.clone(),
            ]);
        }
        for r in &d.records {
            table.row(vec![
                d.name.clone(),
                r.id.to_string(),
                r.name.clone(),
                r.kind.clone(),
                r.value.clone(),
                r.ttl.map(|t| t.to_string()).unwrap_or_default(),
                r.priority.map(|p| p.to_string()).unwrap_or_default(),
                r.state.clone(),
            ]);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_characters_and_numbers_go_right() {
        let mut table = Table::new(&["ID", "NAME", "NOTE"]).right_align(&["ID"]);
        table.row(vec!["7".into(), "Общая сеть".into(), String::new()]);
        table.row(vec!["1234".into(), "web".into(), "x".into()]);
        assert_eq!(
            table.render(),
            "  ID  NAME        NOTE\n   7  Общая сеть  -\n1234  web         x\n"
        );
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn keys_are_shortened_but_keep_their_comment() {
        assert_eq!(
            short_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIabcdefgh me@host"),
            "ssh-ed25519 AAAAC3NzaC1l… me@host"
        );
        assert_eq!(short_key("ssh-rsa AAAAB3"), "ssh-rsa AAAAB3");
    }
}
