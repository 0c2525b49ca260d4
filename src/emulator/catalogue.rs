//! The fixed catalogue the emulator serves: the real data-centre list (docs/1cloud-api.md §3.5) and
//! public image list (docs/1cloud-api.md §3.6) as of 2023-04-24. Fields the source did not record
//! (DC `ID`, `Country`, `City` and the secondary flags) are filled with plausible values. Pure
//! data; depends on serde.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// A data centre (`GET /dcLocation`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Dc {
    #[serde(rename = "ID")]
    pub(crate) id: u64,
    pub(crate) title: &'static str,
    pub(crate) tech_title: &'static str,
    pub(crate) short_title: &'static str,
    pub(crate) country: &'static str,
    pub(crate) city: &'static str,
    pub(crate) is_enable_low_pool: bool,
    pub(crate) is_enable_high_pool: bool,
    pub(crate) is_enable_backup: bool,
    pub(crate) is_enable_ip_v6: bool,
    pub(crate) is_only_for_admins: bool,
    pub(crate) hidden_to_new_projects: bool,
    pub(crate) is_firewall_enabled: bool,
}

const fn dc(
    id: u64,
    title: &'static str,
    tech_title: &'static str,
    short_title: &'static str,
    (country, city): (&'static str, &'static str),
    (low, high): (bool, bool),
) -> Dc {
    Dc {
        id,
        title,
        tech_title,
        short_title,
        country,
        city,
        is_enable_low_pool: low,
        is_enable_high_pool: high,
        is_enable_backup: true,
        is_enable_ip_v6: false,
        is_only_for_admins: false,
        hidden_to_new_projects: false,
        is_firewall_enabled: true,
    }
}

const SPB: (&str, &str) = ("Россия", "Санкт-Петербург");
const MSK: (&str, &str) = ("Россия", "Москва");
const ALA: (&str, &str) = ("Казахстан", "Алматы");
const MINSK: (&str, &str) = ("Беларусь", "Минск");

/// Every data centre, in the API's order.
pub(crate) static DCS: &[Dc] = &[
    dc(1, "Xelent", "SdnSpb", "СПБ", SPB, (true, true)),
    dc(2, "Xelent-2", "SdnSpb2", "СПБ2", SPB, (false, true)),
    dc(3, "Xelent-3", "SdnSpb3", "СПБ3", SPB, (true, true)),
    dc(4, "DataSpace", "DsMsk", "МСК", MSK, (true, true)),
    dc(5, "DataSpace-2", "DsMsk2", "МСК2", MSK, (false, true)),
    dc(6, "Ahost", "AhKz", "АЛА", ALA, (true, true)),
    dc(7, "Ahost-2", "AhKz02", "АЛА2", ALA, (false, true)),
    dc(
        8,
        "ТТК",
        "TtkKz",
        "NUR",
        ("Казахстан", "Астана"),
        (false, true),
    ),
    dc(9, "beCloud", "MinskBy", "МНК", MINSK, (false, true)),
    dc(10, "Avantage", "AvnMsk01", "АВН", MSK, (true, false)),
    dc(
        11,
        "МТС",
        "Vld01",
        "ВЛД",
        ("Россия", "Владивосток"),
        (true, false),
    ),
    dc(
        12,
        "МТС",
        "Nsk01",
        "НСК",
        ("Россия", "Новосибирск"),
        (true, false),
    ),
    dc(13, "beCloud-3", "MinskBy3", "МНК3", MINSK, (true, true)),
];

/// Looks a data centre up by its technical name, ignoring case.
pub(crate) fn find_dc(tech_title: &str) -> Option<&'static Dc> {
    DCS.iter()
        .find(|dc| dc.tech_title.eq_ignore_ascii_case(tech_title))
}

/// An image of `GET /image`: a public one (static, below) or one of the account's own
/// templates (`POST /image`, kept in the world), with the same fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Image {
    #[serde(rename = "ID")]
    pub(crate) id: u64,
    pub(crate) display_name: Text,
    /// The technical name, what a server made from it shows as `Image`.
    pub(crate) name: Text,
    #[serde(rename = "DCLocation")]
    pub(crate) dc_location: Text,
    /// The smallest disk in GB (a template's: its server's disk).
    pub(crate) hdd: u32,
    pub(crate) family: Text,
    #[serde(rename = "IsAvailableISP")]
    pub(crate) is_available_isp: bool,
    #[serde(rename = "IsISPLiteEnabled")]
    pub(crate) is_isp_lite_enabled: bool,
    #[serde(rename = "IsISPBusinessEnabled")]
    pub(crate) is_isp_business_enabled: bool,
    /// `"GoldServer"` for public images, `"Template"` for the account's own (the real value
    /// is unknown).
    #[serde(rename = "Type")]
    pub(crate) kind: Text,
    pub(crate) linked_ssh_keys: Cow<'static, [u64]>,
    pub(crate) operating_system_type: Text,
}

/// Text of a static catalogue entry or of a stored template.
pub(crate) type Text = Cow<'static, str>;

const fn image(
    id: u64,
    display_name: &'static str,
    name: &'static str,
    family: &'static str,
    os: &'static str,
) -> Image {
    let windows = matches!(family.as_bytes(), b"Windows");
    Image {
        id,
        display_name: Cow::Borrowed(display_name),
        name: Cow::Borrowed(name),
        dc_location: Cow::Borrowed(""),
        hdd: if windows { 40 } else { 10 },
        family: Cow::Borrowed(family),
        is_available_isp: false,
        is_isp_lite_enabled: false,
        is_isp_business_enabled: false,
        kind: Cow::Borrowed("GoldServer"),
        linked_ssh_keys: Cow::Borrowed(&[]),
        operating_system_type: Cow::Borrowed(os),
    }
}

const L: &str = "Linux";
const W: &str = "Windows";
const B: &str = "Bsd";

/// Every public image.
pub(crate) static IMAGES: &[Image] = &[
    image(180, "FreeBSD 10 x64", "freebsd10x64", B, "FreeBSD"),
    image(2360, "FreeBSD 11.2 x64", "FreeBSD11x64", B, "FreeBSD"),
    image(
        3,
        "Windows Server 2012 R2 x64 (En)",
        "WinServer2012R2x64En",
        W,
        "Windows",
    ),
    image(
        4,
        "Windows Server 2012 R2 x64 (Ru)",
        "WinServer2012R2x64Ru",
        W,
        "Windows",
    ),
    image(
        1252,
        "Windows Server 2016 x64 (En)",
        "WinServer2016x64En",
        W,
        "Windows",
    ),
    image(
        1253,
        "Windows Server 2016 x64 (Ru)",
        "WinServer2016x64Ru",
        W,
        "Windows",
    ),
    image(
        3740,
        "Windows Server 2022 x64 (En)",
        "WinServer2022x64En",
        W,
        "Windows",
    ),
    image(
        3742,
        "Windows Server 2022 x64 (Ru)",
        "WinServer2022x64Ru",
        W,
        "Windows",
    ),
    image(
        3240,
        "Windows Server 2019 x64 (En)",
        "WinServer2019x64En",
        W,
        "Windows",
    ),
    image(
        3241,
        "Windows Server 2019 x64 (Ru)",
        "WinServer2019x64Ru",
        W,
        "Windows",
    ),
    image(3492, "Ubuntu 20.4 x64", "Ubuntu20.04x64", L, "Ubuntu"),
    image(3782, "Debian 10", "Debian10x64", L, "Debian"),
    image(3783, "Debian 11", "Debian11x64", L, "Debian"),
    image(4112, "Rocky Linux 8.7", "RockyLinux_v1", L, "RockyLinux"),
    image(4113, "AlmaLinux 8.7", "AlmaLinux_v2", L, "AlmaLinux"),
    image(
        1323,
        "Drupal 8 на CentOS 7",
        "CMSDrupal8CentOs7",
        L,
        "CentOS",
    ),
    image(2049, "VyOS 1.1.8 x64", "VyOS", L, "VyOS"),
    image(2169, "Ubuntu 18.04 x64", "Ubuntu18.04x64", L, "Ubuntu"),
    image(2359, "CentOS 7.9 x64", "CentOS7.5_x64", L, "CentOS"),
    image(
        113,
        "Joomla 3 на CentOS 7",
        "CMSJoomla3CentOS7",
        L,
        "CentOS",
    ),
    image(2364, "Debian 9 x64", "Debian9x64", L, "Debian"),
];

/// Looks an image up by ID.
pub(crate) fn find_image(id: u64) -> Option<&'static Image> {
    IMAGES.iter().find(|image| image.id == id)
}
