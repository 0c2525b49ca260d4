//! libvirt's C API, loaded when ict first connects to libvirt (`dlopen` of `libvirt.so.0`)
//! instead of linked at build time. Linking it made every ict command load libvirt and the ~55
//! libraries it needs before `main` (about 14 ms of CPU each time, for commands that mostly
//! never touch libvirt); it also made ict need libvirt's headers to build and refuse to start on
//! a machine without libvirt. Now only `provider("libvirt", ...)` needs libvirt, and says so
//! when it is missing.
//!
//! Only the calls the provider makes are bound, as handles that free their object when dropped,
//! with the names and prototypes of libvirt's headers (<https://libvirt.org/html/index.html>).
//! This is the crate's second audited use of `unsafe`: every call passes pointers that the
//! handle owns or C strings that live across the call, and reads what libvirt returns as its
//! documentation says. May depend on nothing else in the crate.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_longlong, c_uchar, c_uint, c_ulong, c_ulonglong, c_ushort};
use std::ffi::{c_void, CStr, CString};
use std::ptr;
use std::sync::OnceLock;

/// The shared library's name, as Debian, Fedora and others install it.
const LIBRARY: &str = "libvirt.so.0";

pub const VIR_DOMAIN_XML_INACTIVE: u32 = 2;
pub const VIR_DOMAIN_AFFECT_LIVE: u32 = 1;
pub const VIR_DOMAIN_AFFECT_CONFIG: u32 = 2;
pub const VIR_DOMAIN_METADATA_ELEMENT: i32 = 2;
pub const VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE: u32 = 0;
pub const VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE: u32 = 2;
pub const VIR_DOMAIN_BLOCK_RESIZE_BYTES: u32 = 1;
pub const VIR_DOMAIN_MEM_CONFIG: u32 = 2;
pub const VIR_DOMAIN_MEM_MAXIMUM: u32 = 4;
pub const VIR_DOMAIN_VCPU_CONFIG: u32 = 2;
pub const VIR_DOMAIN_VCPU_MAXIMUM: u32 = 4;
pub const VIR_DOMAIN_UNDEFINE_MANAGED_SAVE: u32 = 1;
pub const VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA: u32 = 2;
pub const VIR_DOMAIN_UNDEFINE_NVRAM: u32 = 4;
pub const VIR_DOMAIN_REBOOT_DEFAULT: u32 = 0;
pub const VIR_NETWORK_XML_INACTIVE: u32 = 1;
/// `VIR_IP_ADDR_TYPE_IPV4`, an address's `typed`.
pub const VIR_IP_ADDR_TYPE_IPV4: i32 = 0;

/// The error numbers ict tells apart (`virErrorNumber`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    NoDomain = 42,
    NoNetwork = 43,
    NoStoragePool = 49,
    NoStorageVolume = 50,
}

/// A failed libvirt call: its error number and libvirt's message.
#[derive(Debug, Clone)]
pub struct Error {
    code: i32,
    message: String,
}

impl Error {
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is(&self, code: Code) -> bool {
        self.code == code as i32
    }

    /// Not one of libvirt's own: a string with a NUL, a missing library.
    fn ict(message: String) -> Error {
        Error { code: -1, message }
    }

    /// The error the last call on this thread left (libvirt keeps one per thread).
    fn last(lib: &Library) -> Error {
        // SAFETY: returns this thread's last error or null; read before any other call.
        let raw = unsafe { (lib.virGetLastError)() };
        if raw.is_null() {
            return Error::ict("libvirt failed without saying why".to_owned());
        }
        // SAFETY: non-null, it points at libvirt's `virError`, whose first fields `RawError` is.
        let raw = unsafe { &*raw };
        Error {
            code: raw.code,
            message: borrowed(raw.message).unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The leading fields of `virError`.
#[repr(C)]
struct RawError {
    code: c_int,
    domain: c_int,
    message: *const c_char,
}

#[repr(C)]
struct RawInterface {
    name: *mut c_char,
    hwaddr: *mut c_char,
    naddrs: c_uint,
    addrs: *mut RawAddress,
}

#[repr(C)]
struct RawAddress {
    typed: c_int,
    addr: *mut c_char,
    prefix: c_uint,
}

#[repr(C)]
#[derive(Default)]
struct RawDomainInfo {
    state: c_uchar,
    max_mem: c_ulong,
    memory: c_ulong,
    nr_virt_cpu: c_ushort,
    cpu_time: c_ulonglong,
}

/// `virStoragePoolInfo`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct StoragePoolInfo {
    pub state: c_int,
    pub capacity: u64,
    pub allocation: u64,
    pub available: u64,
}

/// `virStorageVolInfo`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct StorageVolInfo {
    pub kind: c_int,
    pub capacity: u64,
    pub allocation: u64,
}

/// `virDomainMemoryStatStruct`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryStat {
    pub tag: c_int,
    pub val: u64,
}

/// `virDomainBlockStatsStruct`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct BlockStats {
    pub rd_req: c_longlong,
    pub rd_bytes: c_longlong,
    pub wr_req: c_longlong,
    pub wr_bytes: c_longlong,
    pub errs: c_longlong,
}

/// `virDomainInterfaceStatsStruct`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct InterfaceStats {
    pub rx_bytes: c_longlong,
    pub rx_packets: c_longlong,
    pub rx_errs: c_longlong,
    pub rx_drop: c_longlong,
    pub tx_bytes: c_longlong,
    pub tx_packets: c_longlong,
    pub tx_errs: c_longlong,
    pub tx_drop: c_longlong,
}

/// A domain's basic figures (`virDomainInfo`).
#[derive(Debug, Clone, Copy)]
pub struct DomainInfo {
    pub state: u8,
    /// In KiB.
    pub max_mem: u64,
    /// In KiB.
    pub memory: u64,
    pub nr_virt_cpu: u32,
    /// In nanoseconds.
    pub cpu_time: u64,
}

/// A guest interface and its addresses (`virDomainInterface`).
#[derive(Debug, Clone)]
pub struct Interface {
    pub name: String,
    pub hwaddr: Option<String>,
    pub addrs: Vec<Address>,
}

/// One address of an interface (`virDomainIPAddress`).
#[derive(Debug, Clone)]
pub struct Address {
    /// [`VIR_IP_ADDR_TYPE_IPV4`] or IPv6.
    pub typed: i32,
    pub addr: String,
    pub prefix: u32,
}

type Ptr = *mut c_void;
type ErrorFunc = unsafe extern "C" fn(Ptr, *const RawError);

/// Declares the functions ict calls, with their C prototypes, and loads them all at once.
macro_rules! library {
    ($($name:ident($($ty:ty),*) -> $ret:ty;)*) => {
        #[allow(non_snake_case)]
        struct Library {
            _handle: libloading::Library,
            $($name: unsafe extern "C" fn($($ty),*) -> $ret,)*
        }

        impl Library {
            #[allow(non_snake_case)]
            fn load() -> Result<Library, String> {
                // SAFETY: loading libvirt runs its initialisers, which only set up its own state.
                let handle = unsafe { libloading::Library::new(LIBRARY) }.map_err(|e| {
                    format!("cannot load {LIBRARY} ({e}): install libvirt's client library (Debian: apt-get install libvirt0)")
                })?;
                $(
                    // SAFETY: the type is the function's prototype in libvirt's headers.
                    let $name = *unsafe {
                        handle.get::<unsafe extern "C" fn($($ty),*) -> $ret>(
                            concat!(stringify!($name), "\0").as_bytes(),
                        )
                    }
                    .map_err(|e| format!("{LIBRARY} has no {} ({e}): libvirt is too old", stringify!($name)))?;
                )*
                Ok(Library { _handle: handle, $($name,)* })
            }
        }
    };
}

library! {
    virGetLastError() -> *const RawError;
    virSetErrorFunc(Ptr, Option<ErrorFunc>) -> ();
    virConnectOpen(*const c_char) -> Ptr;
    virConnectClose(Ptr) -> c_int;
    virConnectGetCapabilities(Ptr) -> *mut c_char;
    virConnectGetHostname(Ptr) -> *mut c_char;
    virConnectListAllDomains(Ptr, *mut *mut Ptr, c_uint) -> c_int;
    virConnectListAllNetworks(Ptr, *mut *mut Ptr, c_uint) -> c_int;
    virConnectListAllStoragePools(Ptr, *mut *mut Ptr, c_uint) -> c_int;
    virDomainLookupByName(Ptr, *const c_char) -> Ptr;
    virDomainDefineXML(Ptr, *const c_char) -> Ptr;
    virDomainFree(Ptr) -> c_int;
    virDomainGetName(Ptr) -> *const c_char;
    virDomainGetUUID(Ptr, *mut c_uchar) -> c_int;
    virDomainGetXMLDesc(Ptr, c_uint) -> *mut c_char;
    virDomainIsActive(Ptr) -> c_int;
    virDomainGetInfo(Ptr, *mut RawDomainInfo) -> c_int;
    virDomainGetMetadata(Ptr, c_int, *const c_char, c_uint) -> *mut c_char;
    virDomainSetMetadata(Ptr, c_int, *const c_char, *const c_char, *const c_char, c_uint) -> c_int;
    virDomainInterfaceAddresses(Ptr, *mut *mut *mut RawInterface, c_uint, c_uint) -> c_int;
    virDomainInterfaceFree(*mut RawInterface) -> ();
    virDomainCreate(Ptr) -> c_int;
    virDomainShutdown(Ptr) -> c_int;
    virDomainDestroy(Ptr) -> c_int;
    virDomainReboot(Ptr, c_uint) -> c_int;
    virDomainUndefineFlags(Ptr, c_uint) -> c_int;
    virDomainBlockResize(Ptr, *const c_char, c_ulonglong, c_uint) -> c_int;
    virDomainSetMemoryFlags(Ptr, c_ulong, c_uint) -> c_int;
    virDomainSetVcpusFlags(Ptr, c_uint, c_uint) -> c_int;
    virDomainAttachDeviceFlags(Ptr, *const c_char, c_uint) -> c_int;
    virDomainDetachDeviceFlags(Ptr, *const c_char, c_uint) -> c_int;
    virDomainMemoryStats(Ptr, *mut MemoryStat, c_uint, c_uint) -> c_int;
    virDomainBlockStats(Ptr, *const c_char, *mut BlockStats, usize) -> c_int;
    virDomainInterfaceStats(Ptr, *const c_char, *mut InterfaceStats, usize) -> c_int;
    virNetworkLookupByName(Ptr, *const c_char) -> Ptr;
    virNetworkDefineXML(Ptr, *const c_char) -> Ptr;
    virNetworkFree(Ptr) -> c_int;
    virNetworkGetName(Ptr) -> *const c_char;
    virNetworkGetUUID(Ptr, *mut c_uchar) -> c_int;
    virNetworkGetXMLDesc(Ptr, c_uint) -> *mut c_char;
    virNetworkIsActive(Ptr) -> c_int;
    virNetworkCreate(Ptr) -> c_int;
    virNetworkDestroy(Ptr) -> c_int;
    virNetworkUndefine(Ptr) -> c_int;
    virNetworkSetAutostart(Ptr, c_int) -> c_int;
    virStoragePoolLookupByName(Ptr, *const c_char) -> Ptr;
    virStoragePoolDefineXML(Ptr, *const c_char, c_uint) -> Ptr;
    virStoragePoolFree(Ptr) -> c_int;
    virStoragePoolGetName(Ptr) -> *const c_char;
    virStoragePoolGetUUID(Ptr, *mut c_uchar) -> c_int;
    virStoragePoolGetInfo(Ptr, *mut StoragePoolInfo) -> c_int;
    virStoragePoolGetXMLDesc(Ptr, c_uint) -> *mut c_char;
    virStoragePoolIsActive(Ptr) -> c_int;
    virStoragePoolBuild(Ptr, c_uint) -> c_int;
    virStoragePoolCreate(Ptr, c_uint) -> c_int;
    virStoragePoolDestroy(Ptr) -> c_int;
    virStoragePoolDelete(Ptr, c_uint) -> c_int;
    virStoragePoolUndefine(Ptr) -> c_int;
    virStoragePoolSetAutostart(Ptr, c_int) -> c_int;
    virStoragePoolRefresh(Ptr, c_uint) -> c_int;
    virStoragePoolListAllVolumes(Ptr, *mut *mut Ptr, c_uint) -> c_int;
    virStorageVolLookupByName(Ptr, *const c_char) -> Ptr;
    virStorageVolLookupByPath(Ptr, *const c_char) -> Ptr;
    virStorageVolCreateXML(Ptr, *const c_char, c_uint) -> Ptr;
    virStorageVolFree(Ptr) -> c_int;
    virStorageVolGetName(Ptr) -> *const c_char;
    virStorageVolGetKey(Ptr) -> *const c_char;
    virStorageVolGetPath(Ptr) -> *mut c_char;
    virStorageVolGetInfo(Ptr, *mut StorageVolInfo) -> c_int;
    virStorageVolGetXMLDesc(Ptr, c_uint) -> *mut c_char;
    virStorageVolDelete(Ptr, c_uint) -> c_int;
    virStorageVolResize(Ptr, c_ulonglong, c_uint) -> c_int;
    virStorageVolUpload(Ptr, Ptr, c_ulonglong, c_ulonglong, c_uint) -> c_int;
    virStreamNew(Ptr, c_uint) -> Ptr;
    virStreamSend(Ptr, *const c_char, usize) -> c_int;
    virStreamFinish(Ptr) -> c_int;
    virStreamAbort(Ptr) -> c_int;
    virStreamFree(Ptr) -> c_int;
}

/// libvirt's default error handler prints every error to stderr; ict reports them itself.
unsafe extern "C" fn quiet(_: Ptr, _: *const RawError) {}

/// libvirt, loaded on first use.
fn library() -> Result<&'static Library, Error> {
    static LOADED: OnceLock<Result<Library, String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let lib = Library::load()?;
            // SAFETY: a null user pointer and a handler that does nothing.
            unsafe { (lib.virSetErrorFunc)(ptr::null_mut(), Some(quiet)) };
            Ok(lib)
        })
        .as_ref()
        .map_err(|e| Error::ict(e.clone()))
}

/// A C string of `text`; one with a NUL inside cannot be passed.
fn c(text: &str) -> Result<CString, Error> {
    CString::new(text).map_err(|_| Error::ict(format!("{text:?} contains a NUL byte")))
}

/// The C string of an optional argument, or null.
fn c_or_null(text: Option<&CString>) -> *const c_char {
    text.map_or(ptr::null(), |t| t.as_ptr())
}

/// A copy of a string libvirt keeps (not freed), `None` for null.
fn borrowed(text: *const c_char) -> Option<String> {
    if text.is_null() {
        return None;
    }
    // SAFETY: non-null, libvirt's strings are NUL-terminated and live as long as their object.
    Some(
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// A copy of a string libvirt gave to the caller, which then frees it.
fn owned(text: *mut c_char) -> Option<String> {
    let copy = borrowed(text);
    if !text.is_null() {
        // SAFETY: libvirt allocated it with malloc and handed it over.
        unsafe { libc::free(text.cast()) };
    }
    copy
}

/// A call's status: negative is failure.
fn status(lib: &Library, rc: c_int) -> Result<c_int, Error> {
    if rc < 0 {
        Err(Error::last(lib))
    } else {
        Ok(rc)
    }
}

/// A string a call returns to its caller; null is failure.
fn text(lib: &Library, returned: *mut c_char) -> Result<String, Error> {
    owned(returned).ok_or_else(|| Error::last(lib))
}

/// A string of the object's that a call returns; null is failure.
fn kept(lib: &Library, returned: *const c_char) -> Result<String, Error> {
    borrowed(returned).ok_or_else(|| Error::last(lib))
}

/// The objects of a `virXListAll...` call, each taken over by a handle.
fn list<T>(
    lib: &'static Library,
    call: impl FnOnce(*mut *mut Ptr) -> c_int,
    wrap: impl Fn(Ptr, &'static Library) -> T,
) -> Result<Vec<T>, Error> {
    let mut array: *mut Ptr = ptr::null_mut();
    let count = status(lib, call(&raw mut array))?;
    if array.is_null() {
        return Ok(Vec::new());
    }
    let count = usize::try_from(count).unwrap_or(0);
    // SAFETY: libvirt returned an array of `count` object pointers, now ours.
    let objects = unsafe { std::slice::from_raw_parts(array, count) }
        .iter()
        .map(|&object| wrap(object, lib))
        .collect();
    // SAFETY: the array itself was malloc'ed for the caller.
    unsafe { libc::free(array.cast()) };
    Ok(objects)
}

/// A UUID in its usual text form (`0b0c5a3e-4a1b-...`), as `virDomainGetUUIDString` writes it.
pub fn uuid_text(bytes: &[u8; 16]) -> String {
    use std::fmt::Write as _;
    let hex = bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A handle that owns one reference to a libvirt object and drops it with `$free`.
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $free:ident) => {
        $(#[$doc])*
        pub struct $name {
            ptr: Ptr,
            lib: &'static Library,
        }

        impl $name {
            /// Takes over `ptr`; null is the failure of the call that made it.
            fn made(lib: &'static Library, ptr: Ptr) -> Result<$name, Error> {
                if ptr.is_null() {
                    Err(Error::last(lib))
                } else {
                    Ok($name { ptr, lib })
                }
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: this handle holds one reference, given up here once.
                unsafe { (self.lib.$free)(self.ptr) };
            }
        }

        // SAFETY: libvirt's connections and objects may be used from several threads at once
        // (libvirt's "thread safety" guarantee, since 0.6); errors are kept per thread.
        unsafe impl Send for $name {}
        // SAFETY: as above.
        unsafe impl Sync for $name {}
    };
}

handle!(
    /// A connection to a libvirt daemon.
    Connect,
    virConnectClose
);
handle!(
    /// A domain (virtual machine).
    Domain,
    virDomainFree
);
handle!(
    /// A virtual network.
    Network,
    virNetworkFree
);
handle!(
    /// A storage pool.
    StoragePool,
    virStoragePoolFree
);
handle!(
    /// A volume of a storage pool.
    StorageVol,
    virStorageVolFree
);
handle!(
    /// A data stream (uploads).
    Stream,
    virStreamFree
);

/// Methods whose call takes the object and plain values and returns only its status.
macro_rules! status_calls {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) = $call:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self, $($arg: $ty),*) -> Result<(), Error> {
            // SAFETY: a live object of the kind the call takes, and plain values.
            status(self.lib, unsafe { (self.lib.$call)(self.ptr, $($arg),*) }).map(drop)
        }
    )*};
}

/// Methods whose call takes the object, a string and plain values and returns an object.
macro_rules! object_calls {
    ($($(#[$doc:meta])* fn $name:ident($text:ident $(, $arg:ident: $ty:ty)*) -> $kind:ident = $call:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self, $text: &str $(, $arg: $ty)*) -> Result<$kind, Error> {
            let $text = c($text)?;
            // SAFETY: a live object and a C string alive across the call.
            $kind::made(self.lib, unsafe { (self.lib.$call)(self.ptr, $text.as_ptr() $(, $arg)*) })
        }
    )*};
}

/// The name, UUID, definition and activity of a domain, network or pool.
macro_rules! described {
    ($name:ident, $uuid:ident, $xml:ident, $active:ident) => {
        pub fn name(&self) -> Result<String, Error> {
            // SAFETY: a live object; the name is the object's.
            kept(self.lib, unsafe { (self.lib.$name)(self.ptr) })
        }

        pub fn uuid(&self) -> Result<[u8; 16], Error> {
            let mut bytes = [0u8; 16];
            // SAFETY: a live object and a 16-byte buffer (VIR_UUID_BUFLEN).
            status(self.lib, unsafe {
                (self.lib.$uuid)(self.ptr, bytes.as_mut_ptr())
            })?;
            Ok(bytes)
        }

        pub fn xml_desc(&self, flags: u32) -> Result<String, Error> {
            // SAFETY: a live object; the text is the caller's.
            text(self.lib, unsafe { (self.lib.$xml)(self.ptr, flags) })
        }

        pub fn is_active(&self) -> Result<bool, Error> {
            // SAFETY: a live object.
            status(self.lib, unsafe { (self.lib.$active)(self.ptr) }).map(|rc| rc == 1)
        }
    };
}

/// `set_autostart` of a network or pool.
macro_rules! autostart {
    ($call:ident) => {
        pub fn set_autostart(&self, autostart: bool) -> Result<(), Error> {
            // SAFETY: a live object.
            status(self.lib, unsafe {
                (self.lib.$call)(self.ptr, c_int::from(autostart))
            })
            .map(drop)
        }
    };
}

impl Connect {
    /// Connects to `uri`; loads libvirt first if it is not loaded yet.
    pub fn open(uri: &str) -> Result<Connect, Error> {
        let lib = library()?;
        let uri = c(uri)?;
        // SAFETY: a C string alive across the call.
        Connect::made(lib, unsafe { (lib.virConnectOpen)(uri.as_ptr()) })
    }

    pub fn capabilities(&self) -> Result<String, Error> {
        // SAFETY: a live connection.
        text(self.lib, unsafe {
            (self.lib.virConnectGetCapabilities)(self.ptr)
        })
    }

    pub fn hostname(&self) -> Result<String, Error> {
        // SAFETY: a live connection.
        text(self.lib, unsafe {
            (self.lib.virConnectGetHostname)(self.ptr)
        })
    }

    pub fn list_all_domains(&self, flags: u32) -> Result<Vec<Domain>, Error> {
        list(
            self.lib,
            // SAFETY: a live connection and a place for the array.
            |out| unsafe { (self.lib.virConnectListAllDomains)(self.ptr, out, flags) },
            |ptr, lib| Domain { ptr, lib },
        )
    }

    pub fn list_all_networks(&self, flags: u32) -> Result<Vec<Network>, Error> {
        list(
            self.lib,
            // SAFETY: a live connection and a place for the array.
            |out| unsafe { (self.lib.virConnectListAllNetworks)(self.ptr, out, flags) },
            |ptr, lib| Network { ptr, lib },
        )
    }

    pub fn list_all_storage_pools(&self, flags: u32) -> Result<Vec<StoragePool>, Error> {
        list(
            self.lib,
            // SAFETY: a live connection and a place for the array.
            |out| unsafe { (self.lib.virConnectListAllStoragePools)(self.ptr, out, flags) },
            |ptr, lib| StoragePool { ptr, lib },
        )
    }

    object_calls! {
        fn lookup_domain_by_name(name) -> Domain = virDomainLookupByName;
        fn lookup_network_by_name(name) -> Network = virNetworkLookupByName;
        fn lookup_storage_pool_by_name(name) -> StoragePool = virStoragePoolLookupByName;
        fn lookup_storage_vol_by_path(path) -> StorageVol = virStorageVolLookupByPath;
        fn define_domain_xml(xml) -> Domain = virDomainDefineXML;
        fn define_network_xml(xml) -> Network = virNetworkDefineXML;
        fn define_storage_pool_xml(xml, flags: u32) -> StoragePool = virStoragePoolDefineXML;
    }
}

impl Domain {
    described!(
        virDomainGetName,
        virDomainGetUUID,
        virDomainGetXMLDesc,
        virDomainIsActive
    );

    status_calls! {
        /// Starts the defined domain (`virDomainCreate`).
        fn create() = virDomainCreate;
        fn shutdown() = virDomainShutdown;
        /// Powers the domain off (`virDomainDestroy`); its definition stays.
        fn destroy() = virDomainDestroy;
        fn reboot(flags: u32) = virDomainReboot;
        fn undefine_flags(flags: u32) = virDomainUndefineFlags;
        fn set_vcpus_flags(vcpus: u32, flags: u32) = virDomainSetVcpusFlags;
    }

    // `c_ulong` is 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    pub fn info(&self) -> Result<DomainInfo, Error> {
        let mut raw = RawDomainInfo::default();
        // SAFETY: a live domain and a `virDomainInfo` to fill.
        status(self.lib, unsafe {
            (self.lib.virDomainGetInfo)(self.ptr, &raw mut raw)
        })?;
        Ok(DomainInfo {
            state: raw.state,
            max_mem: u64::from(raw.max_mem),
            memory: u64::from(raw.memory),
            nr_virt_cpu: u32::from(raw.nr_virt_cpu),
            cpu_time: raw.cpu_time,
        })
    }

    pub fn metadata(&self, kind: i32, uri: Option<&str>, flags: u32) -> Result<String, Error> {
        let uri = uri.map(c).transpose()?;
        // SAFETY: a live domain and a C string (or null) alive across the call.
        text(self.lib, unsafe {
            (self.lib.virDomainGetMetadata)(self.ptr, kind, c_or_null(uri.as_ref()), flags)
        })
    }

    pub fn set_metadata(
        &self,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<(), Error> {
        let metadata = metadata.map(c).transpose()?;
        let key = key.map(c).transpose()?;
        let uri = uri.map(c).transpose()?;
        // SAFETY: a live domain and C strings (or nulls) alive across the call.
        status(self.lib, unsafe {
            (self.lib.virDomainSetMetadata)(
                self.ptr,
                kind,
                c_or_null(metadata.as_ref()),
                c_or_null(key.as_ref()),
                c_or_null(uri.as_ref()),
                flags,
            )
        })
        .map(drop)
    }

    pub fn interface_addresses(&self, source: u32, flags: u32) -> Result<Vec<Interface>, Error> {
        let mut array: *mut *mut RawInterface = ptr::null_mut();
        // SAFETY: a live domain and a place for the array.
        let count = status(self.lib, unsafe {
            (self.lib.virDomainInterfaceAddresses)(self.ptr, &raw mut array, source, flags)
        })?;
        if array.is_null() {
            return Ok(Vec::new());
        }
        let count = usize::try_from(count).unwrap_or(0);
        // SAFETY: libvirt returned `count` interfaces, now ours.
        let raws = unsafe { std::slice::from_raw_parts(array, count) };
        let interfaces = raws
            .iter()
            .map(|&raw| {
                // SAFETY: each is a valid `virDomainInterface` until freed below.
                let interface = unsafe { &*raw };
                let addrs = if interface.addrs.is_null() {
                    &[][..]
                } else {
                    let n = usize::try_from(interface.naddrs).unwrap_or(0);
                    // SAFETY: `naddrs` addresses, owned by the interface.
                    unsafe { std::slice::from_raw_parts(interface.addrs, n) }
                };
                Interface {
                    name: borrowed(interface.name).unwrap_or_default(),
                    hwaddr: borrowed(interface.hwaddr),
                    addrs: addrs
                        .iter()
                        .map(|a| Address {
                            typed: a.typed,
                            addr: borrowed(a.addr).unwrap_or_default(),
                            prefix: a.prefix,
                        })
                        .collect(),
                }
            })
            .collect();
        for &raw in raws {
            // SAFETY: each interface is freed once, after it was copied.
            unsafe { (self.lib.virDomainInterfaceFree)(raw) };
        }
        // SAFETY: the array was malloc'ed for the caller.
        unsafe { libc::free(array.cast()) };
        Ok(interfaces)
    }

    pub fn block_resize(&self, disk: &str, size: u64, flags: u32) -> Result<(), Error> {
        let disk = c(disk)?;
        // SAFETY: a live domain and a C string alive across the call.
        status(self.lib, unsafe {
            (self.lib.virDomainBlockResize)(self.ptr, disk.as_ptr(), size, flags)
        })
        .map(drop)
    }

    // `c_ulong` is 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    pub fn set_memory_flags(&self, kib: u64, flags: u32) -> Result<(), Error> {
        let kib = c_ulong::try_from(kib).map_err(|_| Error::ict(format!("{kib} KiB")))?;
        // SAFETY: a live domain.
        status(self.lib, unsafe {
            (self.lib.virDomainSetMemoryFlags)(self.ptr, kib, flags)
        })
        .map(drop)
    }

    pub fn attach_device_flags(&self, xml: &str, flags: u32) -> Result<(), Error> {
        let xml = c(xml)?;
        // SAFETY: a live domain and a C string alive across the call.
        status(self.lib, unsafe {
            (self.lib.virDomainAttachDeviceFlags)(self.ptr, xml.as_ptr(), flags)
        })
        .map(drop)
    }

    pub fn detach_device_flags(&self, xml: &str, flags: u32) -> Result<(), Error> {
        let xml = c(xml)?;
        // SAFETY: as above.
        status(self.lib, unsafe {
            (self.lib.virDomainDetachDeviceFlags)(self.ptr, xml.as_ptr(), flags)
        })
        .map(drop)
    }

    pub fn memory_stats(&self, flags: u32) -> Result<Vec<MemoryStat>, Error> {
        // VIR_DOMAIN_MEMORY_STAT_NR: as many as libvirt knows.
        let mut stats = [MemoryStat::default(); 16];
        // SAFETY: a live domain and room for `stats.len()` entries.
        let count = status(self.lib, unsafe {
            (self.lib.virDomainMemoryStats)(self.ptr, stats.as_mut_ptr(), 16, flags)
        })?;
        Ok(stats[..usize::try_from(count).unwrap_or(0).min(16)].to_vec())
    }

    pub fn block_stats(&self, disk: &str) -> Result<BlockStats, Error> {
        let disk = c(disk)?;
        let mut stats = BlockStats::default();
        // SAFETY: a live domain, a C string and a struct of the size passed.
        status(self.lib, unsafe {
            (self.lib.virDomainBlockStats)(
                self.ptr,
                disk.as_ptr(),
                &raw mut stats,
                std::mem::size_of::<BlockStats>(),
            )
        })?;
        Ok(stats)
    }

    pub fn interface_stats(&self, device: &str) -> Result<InterfaceStats, Error> {
        let device = c(device)?;
        let mut stats = InterfaceStats::default();
        // SAFETY: as above.
        status(self.lib, unsafe {
            (self.lib.virDomainInterfaceStats)(
                self.ptr,
                device.as_ptr(),
                &raw mut stats,
                std::mem::size_of::<InterfaceStats>(),
            )
        })?;
        Ok(stats)
    }
}

impl Network {
    described!(
        virNetworkGetName,
        virNetworkGetUUID,
        virNetworkGetXMLDesc,
        virNetworkIsActive
    );
    autostart!(virNetworkSetAutostart);

    status_calls! {
        /// Starts the defined network.
        fn create() = virNetworkCreate;
        fn destroy() = virNetworkDestroy;
        fn undefine() = virNetworkUndefine;
    }
}

impl StoragePool {
    described!(
        virStoragePoolGetName,
        virStoragePoolGetUUID,
        virStoragePoolGetXMLDesc,
        virStoragePoolIsActive
    );
    autostart!(virStoragePoolSetAutostart);

    status_calls! {
        fn build(flags: u32) = virStoragePoolBuild;
        /// Starts the defined pool (`virStoragePoolCreate`).
        fn create(flags: u32) = virStoragePoolCreate;
        fn destroy() = virStoragePoolDestroy;
        fn delete(flags: u32) = virStoragePoolDelete;
        fn undefine() = virStoragePoolUndefine;
        fn refresh(flags: u32) = virStoragePoolRefresh;
    }

    object_calls! {
        fn lookup_storage_vol_by_name(name) -> StorageVol = virStorageVolLookupByName;
    }

    pub fn info(&self) -> Result<StoragePoolInfo, Error> {
        let mut info = StoragePoolInfo::default();
        // SAFETY: a live pool and a `virStoragePoolInfo` to fill.
        status(self.lib, unsafe {
            (self.lib.virStoragePoolGetInfo)(self.ptr, &raw mut info)
        })?;
        Ok(info)
    }

    pub fn list_all_volumes(&self, flags: u32) -> Result<Vec<StorageVol>, Error> {
        list(
            self.lib,
            // SAFETY: a live pool and a place for the array.
            |out| unsafe { (self.lib.virStoragePoolListAllVolumes)(self.ptr, out, flags) },
            |ptr, lib| StorageVol { ptr, lib },
        )
    }
}

impl StorageVol {
    /// Makes a volume in `pool` from its XML definition.
    pub fn create_xml(pool: &StoragePool, xml: &str, flags: u32) -> Result<StorageVol, Error> {
        let xml = c(xml)?;
        // SAFETY: a live pool and a C string alive across the call.
        StorageVol::made(pool.lib, unsafe {
            (pool.lib.virStorageVolCreateXML)(pool.ptr, xml.as_ptr(), flags)
        })
    }

    pub fn name(&self) -> Result<String, Error> {
        // SAFETY: a live volume; the name is the volume's.
        kept(self.lib, unsafe {
            (self.lib.virStorageVolGetName)(self.ptr)
        })
    }

    pub fn key(&self) -> Result<String, Error> {
        // SAFETY: a live volume; the key is the volume's.
        kept(self.lib, unsafe {
            (self.lib.virStorageVolGetKey)(self.ptr)
        })
    }

    pub fn path(&self) -> Result<String, Error> {
        // SAFETY: a live volume; the path is the caller's.
        text(self.lib, unsafe {
            (self.lib.virStorageVolGetPath)(self.ptr)
        })
    }

    pub fn xml_desc(&self, flags: u32) -> Result<String, Error> {
        // SAFETY: a live volume; the text is the caller's.
        text(self.lib, unsafe {
            (self.lib.virStorageVolGetXMLDesc)(self.ptr, flags)
        })
    }

    pub fn info(&self) -> Result<StorageVolInfo, Error> {
        let mut info = StorageVolInfo::default();
        // SAFETY: a live volume and a `virStorageVolInfo` to fill.
        status(self.lib, unsafe {
            (self.lib.virStorageVolGetInfo)(self.ptr, &raw mut info)
        })?;
        Ok(info)
    }

    status_calls! {
        fn delete(flags: u32) = virStorageVolDelete;
        fn resize(capacity: u64, flags: u32) = virStorageVolResize;
    }

    /// Starts filling `length` bytes at `offset` from what is sent on `stream`.
    pub fn upload(
        &self,
        stream: &Stream,
        offset: u64,
        length: u64,
        flags: u32,
    ) -> Result<(), Error> {
        // SAFETY: a live volume and stream.
        status(self.lib, unsafe {
            (self.lib.virStorageVolUpload)(self.ptr, stream.ptr, offset, length, flags)
        })
        .map(drop)
    }
}

impl Stream {
    pub fn new(conn: &Connect, flags: u32) -> Result<Stream, Error> {
        // SAFETY: a live connection.
        Stream::made(conn.lib, unsafe {
            (conn.lib.virStreamNew)(conn.ptr, flags)
        })
    }

    /// Sends some of `data`; returns how many bytes went.
    pub fn send(&self, data: &[u8]) -> Result<usize, Error> {
        // SAFETY: a live stream and `data.len()` readable bytes.
        let sent = status(self.lib, unsafe {
            (self.lib.virStreamSend)(self.ptr, data.as_ptr().cast(), data.len())
        })?;
        Ok(usize::try_from(sent).unwrap_or(0))
    }

    status_calls! {
        /// Ends the transfer and waits until the other end has it all.
        fn finish() = virStreamFinish;
        /// Cancels the transfer.
        fn abort() = virStreamAbort;
    }
}
