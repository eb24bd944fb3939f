//! A SQLite VFS for tests that loses, at a power cut, everything that was
//! not fsynced.
//!
//! [`PowerCut::new`] registers a VFS (named uniquely, so tests in parallel
//! threads do not share one) that wraps the default (unix) VFS. Writes to a
//! database, its WAL or its rollback journal do not reach the file: they
//! stay in an in-memory overlay of that file (the page cache of a real
//! system), which every handle on the file reads through. `xSync` moves the
//! file's overlay into the real file and fsyncs it. A power cut
//! ([`PowerCut::cut_at_sync`] for the k-th `xSync`, or [`PowerCut::cut_now`])
//! switches the VFS off: that sync and every later write, truncate, sync and
//! delete fail with an I/O error and change nothing, so closing the
//! connections afterwards persists nothing either. After the connections are
//! dropped, [`PowerCut::discard`] throws the overlays away: the real files
//! hold exactly what was fsynced — or, with [`Loss::Torn`], that plus a
//! random subset of the unsynced 512-byte sectors (a disk that wrote some
//! of its cache before the power went).
//!
//! The WAL's shared memory (`xShm*`) goes to the underlying file unchanged:
//! it is not durable, and the first connection to open a database after all
//! were closed rebuilds it from the WAL. Memory-mapped reads are refused
//! (`xFetch` hands out nothing), so every read goes through the overlay.
//! Temporary files pass straight through. Directory entries are taken as
//! durable when made (a file's creation and deletion are not undone by a
//! cut); SQLite fsyncs the directory itself where it matters.
//!
//! Only for tests: everything here is leaked on purpose (a VFS must outlive
//! every connection that might use it) and the I/O is serialised by one lock.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::ffi;

/// Bytes of one overlay block.
const BLOCK: u64 = 4096;
/// The unit a torn power cut keeps or loses.
const SECTOR: u64 = 512;

/// What a power cut keeps of the writes that were not fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Nothing: every file is as it was at its last fsync.
    All,
    /// A random subset of the unsynced sectors of every file reached the
    /// disk (chosen by the seed); truncations are kept or lost at random.
    Torn(u64),
}

/// One power-cut VFS, registered with SQLite under [`PowerCut::name`].
#[derive(Debug, Clone, Copy)]
pub struct PowerCut {
    vfs: &'static Vfs,
}

#[derive(Debug)]
struct Vfs {
    name: &'static str,
    /// The default VFS this one wraps.
    base: *mut ffi::sqlite3_vfs,
    state: Mutex<State>,
    /// Files open on this VFS (durable or not).
    open: AtomicUsize,
}

// SAFETY: `base` points to a VFS SQLite registered for the whole process;
// SQLite's VFS methods may be called from any thread.
unsafe impl Sync for Vfs {}
// SAFETY: as above; the state is behind a mutex.
unsafe impl Send for Vfs {}

#[derive(Debug)]
struct State {
    on: bool,
    /// `xSync` calls on durable files so far (while on).
    syncs: u64,
    /// Cut the power at this `xSync` (0-based), and how.
    cut_at: Option<(u64, Loss)>,
    /// Unsynced writes of each durable file, by full path.
    files: HashMap<String, Overlay>,
    /// `xSync` says it synced and does nothing (a disk that ignores flushes),
    /// to show that the tests around this VFS catch a store that loses data.
    lying: bool,
    /// Unsynced sectors that torn cuts kept.
    kept_sectors: u64,
}

impl PowerCut {
    /// Registers a new VFS wrapping the default one; the power is on.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name: &'static str =
            format!("powercut-{}", NEXT.fetch_add(1, Ordering::Relaxed)).leak();
        // SAFETY: sqlite3_vfs_find(NULL) returns the default VFS, which
        // lives as long as the process.
        let base = unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) };
        assert!(!base.is_null(), "SQLite has no default VFS");
        let vfs: &'static Vfs = Box::leak(Box::new(Vfs {
            name,
            base,
            state: Mutex::new(State {
                on: true,
                syncs: 0,
                cut_at: None,
                files: HashMap::new(),
                lying: false,
                kept_sectors: 0,
            }),
            open: AtomicUsize::new(0),
        }));
        let c_name: &'static CStr =
            Box::leak(CString::new(name).expect("no NUL").into_boxed_c_str());
        // SAFETY: reading the fields of the default VFS.
        let (base_size, max_path) = unsafe { ((*base).szOsFile, (*base).mxPathname) };
        let methods = Box::leak(Box::new(ffi::sqlite3_vfs {
            iVersion: 2,
            szOsFile: (FILE_HEADER + base_size as usize) as c_int,
            mxPathname: max_path,
            pNext: std::ptr::null_mut(),
            zName: c_name.as_ptr(),
            pAppData: vfs as *const Vfs as *mut c_void,
            xOpen: Some(x_open),
            xDelete: Some(x_delete),
            xAccess: Some(x_access),
            xFullPathname: Some(x_full_pathname),
            xDlOpen: None,
            xDlError: None,
            xDlSym: None,
            xDlClose: None,
            xRandomness: Some(x_randomness),
            xSleep: Some(x_sleep),
            xCurrentTime: Some(x_current_time),
            xGetLastError: Some(x_get_last_error),
            xCurrentTimeInt64: Some(x_current_time_int64),
            xSetSystemCall: None,
            xGetSystemCall: None,
            xNextSystemCall: None,
        }));
        // SAFETY: the VFS struct is leaked, so it outlives its registration.
        let rc = unsafe { ffi::sqlite3_vfs_register(methods, 0) };
        assert_eq!(rc, ffi::SQLITE_OK, "register the power-cut VFS");
        Self { vfs }
    }

    /// The name to open connections with (`open_with_flags_and_vfs`, the
    /// stores' test VFS setters, or `?vfs=` in a URI).
    pub fn name(&self) -> &'static str {
        self.vfs.name
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.vfs.state()
    }

    /// Cuts the power when the `k`-th `xSync` (counting from 0) is called:
    /// that sync does not happen.
    pub fn cut_at_sync(&self, k: u64, loss: Loss) {
        self.state().cut_at = Some((k, loss));
    }

    /// Cuts the power now.
    pub fn cut_now(&self, loss: Loss) {
        self.state().power_off(loss);
    }

    /// From now on `xSync` reports success without syncing anything: the
    /// disk of a store that would lose acknowledged writes at a power cut.
    /// For checking that a test notices.
    pub fn ignore_syncs(&self) {
        self.state().lying = true;
    }

    /// Unsynced 512-byte sectors that torn power cuts kept so far.
    pub fn kept_sectors(&self) -> u64 {
        self.state().kept_sectors
    }

    /// Whether the power has been cut.
    pub fn is_cut(&self) -> bool {
        !self.state().on
    }

    /// `xSync` calls made on durable files while the power was on.
    pub fn syncs(&self) -> u64 {
        self.state().syncs
    }

    /// Files open on this VFS.
    pub fn open_files(&self) -> usize {
        self.vfs.open.load(Ordering::SeqCst)
    }

    /// After a cut, once every connection on this VFS is closed: forgets
    /// what was not fsynced. Waits (a bounded time) for connections closed
    /// by other threads (a pool's) and panics if some stay open, since a
    /// connection left open would let SQLite reuse its view of the files.
    pub fn discard(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.open_files() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{} files still open on {} after its stores were dropped",
                self.open_files(),
                self.name()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut state = self.state();
        assert!(!state.on, "discard() comes after a power cut");
        state.files.clear();
    }
}

impl Default for PowerCut {
    fn default() -> Self {
        Self::new()
    }
}

impl Vfs {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    fn power_off(&mut self, loss: Loss) {
        if !self.on {
            return;
        }
        self.on = false;
        if let Loss::Torn(seed) = loss {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut paths: Vec<&String> = self.files.keys().collect();
            paths.sort();
            let mut kept = 0;
            for path in paths {
                kept += self.files[path].persist_some(path, &mut rng);
            }
            self.kept_sectors += kept;
        }
    }
}

/// The unsynced state of one file: its size and the blocks written since
/// its last sync, as the file reads now.
#[derive(Debug)]
struct Overlay {
    size: u64,
    /// Bytes of the real file at and after this offset are gone (a
    /// truncation not yet synced): they read as zeros.
    floor: u64,
    blocks: BTreeMap<u64, Box<[u8]>>,
}

/// Bytes before the wrapped file's own in our file struct (8-aligned).
const FILE_HEADER: usize = std::mem::size_of::<File>().next_multiple_of(8);

#[repr(C)]
struct File {
    /// SQLite's part: must come first.
    base: ffi::sqlite3_file,
    vfs: *const Vfs,
    /// The full path of a durable file (database, WAL, journal), else null.
    key: *mut String,
    /// The wrapped file, right after this struct.
    real: *mut ffi::sqlite3_file,
}

unsafe fn real_methods(real: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    // SAFETY: an open file's methods live as long as the VFS.
    unsafe { &*(*real).pMethods }
}

fn real_read(real: *mut ffi::sqlite3_file, buf: &mut [u8], offset: u64) -> c_int {
    if buf.is_empty() {
        return ffi::SQLITE_OK;
    }
    // SAFETY: `real` is an open file of the wrapped VFS.
    unsafe {
        let read = real_methods(real).xRead.expect("xRead");
        read(
            real,
            buf.as_mut_ptr().cast(),
            buf.len() as c_int,
            offset as i64,
        )
    }
}

fn real_write(real: *mut ffi::sqlite3_file, buf: &[u8], offset: u64) -> c_int {
    // SAFETY: as above.
    unsafe {
        let write = real_methods(real).xWrite.expect("xWrite");
        write(real, buf.as_ptr().cast(), buf.len() as c_int, offset as i64)
    }
}

fn real_size(real: *mut ffi::sqlite3_file) -> Result<u64, c_int> {
    let mut size: i64 = 0;
    // SAFETY: as above.
    let rc = unsafe { real_methods(real).xFileSize.expect("xFileSize")(real, &mut size) };
    if rc == ffi::SQLITE_OK {
        Ok(size as u64)
    } else {
        Err(rc)
    }
}

fn real_truncate(real: *mut ffi::sqlite3_file, size: u64) -> c_int {
    // SAFETY: as above.
    unsafe { real_methods(real).xTruncate.expect("xTruncate")(real, size as i64) }
}

/// A short read fills with zeros and is not an error here.
fn ok_read(rc: c_int) -> c_int {
    if rc == ffi::SQLITE_IOERR_SHORT_READ {
        ffi::SQLITE_OK
    } else {
        rc
    }
}

impl Overlay {
    fn new(real: *mut ffi::sqlite3_file) -> Result<Self, c_int> {
        Ok(Self {
            size: real_size(real)?,
            floor: u64::MAX,
            blocks: BTreeMap::new(),
        })
    }

    /// Bytes at `at..` as they read without the blocks: the real file's,
    /// or zeros past the floor.
    fn read_under(&self, real: *mut ffi::sqlite3_file, out: &mut [u8], at: u64) -> c_int {
        let end = at + out.len() as u64;
        let split = self.floor.clamp(at, end);
        let (below, above) = out.split_at_mut((split - at) as usize);
        above.fill(0);
        ok_read(real_read(real, below, at))
    }

    fn block_mut(&mut self, real: *mut ffi::sqlite3_file, b: u64) -> Result<&mut [u8], c_int> {
        if !self.blocks.contains_key(&b) {
            let mut block = vec![0u8; BLOCK as usize].into_boxed_slice();
            let rc = self.read_under(real, &mut block, b * BLOCK);
            if rc != ffi::SQLITE_OK {
                return Err(rc);
            }
            self.blocks.insert(b, block);
        }
        Ok(self.blocks.get_mut(&b).expect("just inserted"))
    }

    fn read(&self, real: *mut ffi::sqlite3_file, out: &mut [u8], offset: u64) -> c_int {
        let end = offset + out.len() as u64;
        let mut at = offset;
        while at < end {
            let b = at / BLOCK;
            let stop = end.min((b + 1) * BLOCK);
            let part = &mut out[(at - offset) as usize..(stop - offset) as usize];
            match self.blocks.get(&b) {
                Some(block) => {
                    part.copy_from_slice(&block[(at - b * BLOCK) as usize..][..part.len()])
                }
                None => {
                    let rc = self.read_under(real, part, at);
                    if rc != ffi::SQLITE_OK {
                        return rc;
                    }
                }
            }
            at = stop;
        }
        if end > self.size {
            let from = self.size.max(offset);
            out[(from - offset) as usize..].fill(0);
            return ffi::SQLITE_IOERR_SHORT_READ;
        }
        ffi::SQLITE_OK
    }

    fn write(&mut self, real: *mut ffi::sqlite3_file, data: &[u8], offset: u64) -> c_int {
        let end = offset + data.len() as u64;
        let mut at = offset;
        while at < end {
            let b = at / BLOCK;
            let stop = end.min((b + 1) * BLOCK);
            let block = match self.block_mut(real, b) {
                Ok(block) => block,
                Err(rc) => return rc,
            };
            block[(at - b * BLOCK) as usize..(stop - b * BLOCK) as usize]
                .copy_from_slice(&data[(at - offset) as usize..(stop - offset) as usize]);
            at = stop;
        }
        self.size = self.size.max(end);
        ffi::SQLITE_OK
    }

    fn truncate(&mut self, real: *mut ffi::sqlite3_file, size: u64) -> c_int {
        if size < self.size {
            if !size.is_multiple_of(BLOCK) {
                let b = size / BLOCK;
                match self.block_mut(real, b) {
                    Ok(block) => block[(size % BLOCK) as usize..].fill(0),
                    Err(rc) => return rc,
                }
            }
            let first_gone = size.div_ceil(BLOCK);
            self.blocks.retain(|&b, _| b < first_gone);
            self.floor = self.floor.min(size);
        } else {
            self.floor = self.floor.min(self.size);
        }
        self.size = size;
        ffi::SQLITE_OK
    }

    /// Makes the real file read as the overlay does (before its fsync).
    fn flush(&self, real: *mut ffi::sqlite3_file) -> c_int {
        let on_disk = match real_size(real) {
            Ok(n) => n,
            Err(rc) => return rc,
        };
        if self.floor < on_disk {
            let rc = real_truncate(real, self.floor);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        for (&b, block) in &self.blocks {
            let start = b * BLOCK;
            if start >= self.size {
                continue;
            }
            let len = BLOCK.min(self.size - start) as usize;
            let rc = real_write(real, &block[..len], start);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        match real_size(real) {
            Ok(n) if n == self.size => ffi::SQLITE_OK,
            Ok(_) => real_truncate(real, self.size),
            Err(rc) => rc,
        }
    }

    /// At a torn power cut: some of the unsynced sectors reach the disk.
    /// Written with plain file I/O (the handles may all be closed by now).
    /// Returns how many sectors it kept.
    fn persist_some(&self, path: &str, rng: &mut StdRng) -> u64 {
        use std::os::unix::fs::FileExt as _;
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) else {
            return 0;
        };
        let mut kept = 0;
        if self.floor != u64::MAX && rng.random_bool(0.5) {
            let _ = file.set_len(self.floor.min(self.size));
        }
        for (&b, block) in &self.blocks {
            let start = b * BLOCK;
            for s in (0..BLOCK).step_by(SECTOR as usize) {
                let at = start + s;
                if at >= self.size || !rng.random_bool(0.5) {
                    continue;
                }
                let len = SECTOR.min(self.size - at) as usize;
                if file
                    .write_all_at(&block[s as usize..s as usize + len], at)
                    .is_ok()
                {
                    kept += 1;
                }
            }
        }
        kept
    }
}

unsafe fn parts<'a>(
    file: *mut ffi::sqlite3_file,
) -> (&'a Vfs, Option<&'a str>, *mut ffi::sqlite3_file) {
    // SAFETY: SQLite hands back the file struct our xOpen filled in.
    unsafe {
        let f = &*(file as *const File);
        let key = if f.key.is_null() {
            None
        } else {
            Some((*f.key).as_str())
        };
        (&*f.vfs, key, f.real)
    }
}

unsafe fn vfs_of<'a>(vfs: *mut ffi::sqlite3_vfs) -> &'a Vfs {
    // SAFETY: pAppData is the leaked Vfs of this registration.
    unsafe { &*((*vfs).pAppData as *const Vfs) }
}

const DURABLE: c_int =
    ffi::SQLITE_OPEN_MAIN_DB | ffi::SQLITE_OPEN_WAL | ffi::SQLITE_OPEN_MAIN_JOURNAL;

unsafe extern "C" fn x_open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: SQLite gives szOsFile bytes at `file`; the wrapped file goes
    // after our header.
    unsafe {
        let me = vfs_of(vfs);
        let real = (file as *mut u8).add(FILE_HEADER) as *mut ffi::sqlite3_file;
        (*real).pMethods = std::ptr::null();
        let rc = (*me.base).xOpen.expect("xOpen")(me.base, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            if !(*real).pMethods.is_null() {
                real_methods(real).xClose.expect("xClose")(real);
            }
            (*file).pMethods = std::ptr::null();
            return rc;
        }
        let durable =
            !name.is_null() && flags & DURABLE != 0 && flags & ffi::SQLITE_OPEN_DELETEONCLOSE == 0;
        let key = if durable {
            Box::into_raw(Box::new(
                CStr::from_ptr(name).to_string_lossy().into_owned(),
            ))
        } else {
            std::ptr::null_mut()
        };
        std::ptr::write(
            file as *mut File,
            File {
                base: ffi::sqlite3_file {
                    pMethods: &IO_METHODS,
                },
                vfs: me,
                key,
                real,
            },
        );
        me.open.fetch_add(1, Ordering::SeqCst);
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn x_delete(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    // SAFETY: forwarding to the wrapped VFS.
    unsafe {
        let me = vfs_of(vfs);
        let mut state = me.state();
        if !state.on {
            return ffi::SQLITE_IOERR_DELETE;
        }
        if !name.is_null() {
            state
                .files
                .remove(CStr::from_ptr(name).to_string_lossy().as_ref());
        }
        (*me.base).xDelete.expect("xDelete")(me.base, name, sync_dir)
    }
}

unsafe extern "C" fn x_access(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    // SAFETY: forwarding to the wrapped VFS.
    unsafe {
        let base = vfs_of(vfs).base;
        (*base).xAccess.expect("xAccess")(base, name, flags, out)
    }
}

unsafe extern "C" fn x_full_pathname(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    // SAFETY: forwarding to the wrapped VFS.
    unsafe {
        let base = vfs_of(vfs).base;
        (*base).xFullPathname.expect("xFullPathname")(base, name, n, out)
    }
}

unsafe extern "C" fn x_randomness(vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    // SAFETY: forwarding to the wrapped VFS.
    unsafe {
        let base = vfs_of(vfs).base;
        (*base).xRandomness.expect("xRandomness")(base, n, out)
    }
}

unsafe extern "C" fn x_sleep(vfs: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
    // SAFETY: forwarding to the wrapped VFS.
    unsafe {
        let base = vfs_of(vfs).base;
        (*base).xSleep.expect("xSleep")(base, micros)
    }
}

unsafe extern "C" fn x_current_time(vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    // SAFETY: forwarding to the wrapped VFS.
    unsafe {
        let base = vfs_of(vfs).base;
        (*base).xCurrentTime.expect("xCurrentTime")(base, out)
    }
}

unsafe extern "C" fn x_current_time_int64(vfs: *mut ffi::sqlite3_vfs, out: *mut i64) -> c_int {
    // SAFETY: forwarding to the wrapped VFS (version ≥ 2 has it).
    unsafe {
        let base = vfs_of(vfs).base;
        match (*base).xCurrentTimeInt64 {
            Some(f) => f(base, out),
            None => {
                let mut days = 0.0;
                let rc = (*base).xCurrentTime.expect("xCurrentTime")(base, &mut days);
                *out = (days * 86_400_000.0) as i64;
                rc
            }
        }
    }
}

unsafe extern "C" fn x_get_last_error(
    vfs: *mut ffi::sqlite3_vfs,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    // SAFETY: forwarding to the wrapped VFS.
    unsafe {
        let base = vfs_of(vfs).base;
        match (*base).xGetLastError {
            Some(f) => f(base, n, out),
            None => 0,
        }
    }
}

static IO_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(f_close),
    xRead: Some(f_read),
    xWrite: Some(f_write),
    xTruncate: Some(f_truncate),
    xSync: Some(f_sync),
    xFileSize: Some(f_file_size),
    xLock: Some(f_lock),
    xUnlock: Some(f_unlock),
    xCheckReservedLock: Some(f_check_reserved_lock),
    xFileControl: Some(f_file_control),
    xSectorSize: Some(f_sector_size),
    xDeviceCharacteristics: Some(f_device_characteristics),
    xShmMap: Some(f_shm_map),
    xShmLock: Some(f_shm_lock),
    xShmBarrier: Some(f_shm_barrier),
    xShmUnmap: Some(f_shm_unmap),
    xFetch: Some(f_fetch),
    xUnfetch: Some(f_unfetch),
};

unsafe extern "C" fn f_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: the file our xOpen filled in; closed once.
    unsafe {
        let f = &mut *(file as *mut File);
        let rc = real_methods(f.real).xClose.expect("xClose")(f.real);
        if !f.key.is_null() {
            drop(Box::from_raw(f.key));
            f.key = std::ptr::null_mut();
        }
        (*f.vfs).open.fetch_sub(1, Ordering::SeqCst);
        rc
    }
}

unsafe extern "C" fn f_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    n: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite passes a buffer of n bytes.
    unsafe {
        let (vfs, key, real) = parts(file);
        let out = std::slice::from_raw_parts_mut(buf as *mut u8, n as usize);
        let Some(key) = key else {
            return real_methods(real).xRead.expect("xRead")(real, buf, n, offset);
        };
        let state = vfs.state();
        match state.files.get(key) {
            Some(overlay) => overlay.read(real, out, offset as u64),
            None => real_methods(real).xRead.expect("xRead")(real, buf, n, offset),
        }
    }
}

/// The overlay of `key`, made on first use.
fn overlay_of<'a>(
    state: &'a mut State,
    key: &str,
    real: *mut ffi::sqlite3_file,
) -> Result<&'a mut Overlay, c_int> {
    if !state.files.contains_key(key) {
        let overlay = Overlay::new(real)?;
        state.files.insert(key.to_owned(), overlay);
    }
    Ok(state.files.get_mut(key).expect("just inserted"))
}

unsafe extern "C" fn f_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    n: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite passes a buffer of n bytes.
    unsafe {
        let (vfs, key, real) = parts(file);
        let Some(key) = key else {
            return real_methods(real).xWrite.expect("xWrite")(real, buf, n, offset);
        };
        let data = std::slice::from_raw_parts(buf as *const u8, n as usize);
        let mut state = vfs.state();
        if !state.on {
            return ffi::SQLITE_IOERR_WRITE;
        }
        match overlay_of(&mut state, key, real) {
            Ok(overlay) => overlay.write(real, data, offset as u64),
            Err(rc) => rc,
        }
    }
}

unsafe extern "C" fn f_truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: the file our xOpen filled in.
    unsafe {
        let (vfs, key, real) = parts(file);
        let Some(key) = key else {
            return real_truncate(real, size as u64);
        };
        let mut state = vfs.state();
        if !state.on {
            return ffi::SQLITE_IOERR_TRUNCATE;
        }
        match overlay_of(&mut state, key, real) {
            Ok(overlay) => overlay.truncate(real, size as u64),
            Err(rc) => rc,
        }
    }
}

unsafe extern "C" fn f_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: the file our xOpen filled in.
    unsafe {
        let (vfs, key, real) = parts(file);
        let sync = real_methods(real).xSync.expect("xSync");
        let Some(key) = key else {
            return sync(real, flags);
        };
        let mut state = vfs.state();
        if !state.on {
            return ffi::SQLITE_IOERR_FSYNC;
        }
        let k = state.syncs;
        state.syncs += 1;
        if let Some((at, loss)) = state.cut_at
            && at == k
        {
            state.power_off(loss);
            return ffi::SQLITE_IOERR_FSYNC;
        }
        if state.lying {
            return ffi::SQLITE_OK;
        }
        if let Some(overlay) = state.files.get(key) {
            let rc = overlay.flush(real);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        let rc = sync(real, flags);
        if rc == ffi::SQLITE_OK {
            state.files.remove(key);
        }
        rc
    }
}

unsafe extern "C" fn f_file_size(file: *mut ffi::sqlite3_file, out: *mut i64) -> c_int {
    // SAFETY: the file our xOpen filled in.
    unsafe {
        let (vfs, key, real) = parts(file);
        if let Some(key) = key
            && let Some(overlay) = vfs.state().files.get(key)
        {
            *out = overlay.size as i64;
            return ffi::SQLITE_OK;
        }
        real_methods(real).xFileSize.expect("xFileSize")(real, out)
    }
}

unsafe extern "C" fn f_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, _, real) = parts(file);
        real_methods(real).xLock.expect("xLock")(real, level)
    }
}

unsafe extern "C" fn f_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, _, real) = parts(file);
        real_methods(real).xUnlock.expect("xUnlock")(real, level)
    }
}

unsafe extern "C" fn f_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, _, real) = parts(file);
        real_methods(real)
            .xCheckReservedLock
            .expect("xCheckReservedLock")(real, out)
    }
}

unsafe extern "C" fn f_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, key, real) = parts(file);
        // A size hint would grow the real file behind the overlay's back.
        if key.is_some() && op == ffi::SQLITE_FCNTL_SIZE_HINT {
            return ffi::SQLITE_OK;
        }
        real_methods(real).xFileControl.expect("xFileControl")(real, op, arg)
    }
}

unsafe extern "C" fn f_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, _, real) = parts(file);
        real_methods(real).xSectorSize.expect("xSectorSize")(real)
    }
}

unsafe extern "C" fn f_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, _, real) = parts(file);
        // No atomic or ordered writes are promised: the overlay gives none.
        real_methods(real)
            .xDeviceCharacteristics
            .expect("xDeviceCharacteristics")(real)
            & ffi::SQLITE_IOCAP_POWERSAFE_OVERWRITE
    }
}

unsafe extern "C" fn f_shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, _, real) = parts(file);
        real_methods(real).xShmMap.expect("xShmMap")(real, page, size, extend, out)
    }
}

unsafe extern "C" fn f_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, _, real) = parts(file);
        real_methods(real).xShmLock.expect("xShmLock")(real, offset, n, flags)
    }
}

unsafe extern "C" fn f_shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, _, real) = parts(file);
        real_methods(real).xShmBarrier.expect("xShmBarrier")(real)
    }
}

unsafe extern "C" fn f_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: forwarding to the wrapped file.
    unsafe {
        let (_, _, real) = parts(file);
        real_methods(real).xShmUnmap.expect("xShmUnmap")(real, delete)
    }
}

unsafe extern "C" fn f_fetch(
    _file: *mut ffi::sqlite3_file,
    _offset: i64,
    _n: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: SQLite passes a valid out pointer. No mapping: reads must go
    // through the overlay.
    unsafe { *out = std::ptr::null_mut() };
    ffi::SQLITE_OK
}

unsafe extern "C" fn f_unfetch(
    _file: *mut ffi::sqlite3_file,
    _offset: i64,
    _p: *mut c_void,
) -> c_int {
    ffi::SQLITE_OK
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};

    fn open(path: &std::path::Path, vfs: &PowerCut) -> Connection {
        let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), vfs.name())
            .expect("open on the power-cut VFS");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.pragma_update(None, "synchronous", "FULL")
            .expect("full");
        conn
    }

    fn rows(path: &std::path::Path) -> Vec<i64> {
        let conn = Connection::open(path).expect("reopen");
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity");
        assert_eq!(ok, "ok");
        let mut stmt = conn.prepare("SELECT n FROM t ORDER BY n").expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn committed_rows_survive_and_unsynced_ones_do_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.sqlite3");
        let vfs = PowerCut::new();
        let conn = open(&path, &vfs);
        conn.execute_batch("CREATE TABLE t (n INTEGER)")
            .expect("create");
        for n in 0..5 {
            conn.execute("INSERT INTO t VALUES (?1)", [n])
                .expect("insert");
        }
        // Not synced: WAL off, synchronous off, so the commit stays in the
        // overlay.
        conn.pragma_update(None, "synchronous", "OFF").expect("off");
        conn.execute("INSERT INTO t VALUES (99)", [])
            .expect("insert");
        vfs.cut_now(Loss::All);
        assert!(conn.execute("INSERT INTO t VALUES (100)", []).is_err());
        drop(conn);
        vfs.discard();
        assert_eq!(rows(&path), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_cut_at_each_sync_keeps_a_prefix_of_the_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let count = {
            let vfs = PowerCut::new();
            let conn = open(&dir.path().join("count.sqlite3"), &vfs);
            conn.execute_batch("CREATE TABLE t (n INTEGER)")
                .expect("create");
            for n in 0..10 {
                conn.execute("INSERT INTO t VALUES (?1)", [n])
                    .expect("insert");
            }
            vfs.syncs()
        };
        assert!(count >= 10, "one sync per commit at least: {count}");
        for k in 0..count {
            for loss in [Loss::All, Loss::Torn(k)] {
                let path = dir.path().join(format!("{k}-{loss:?}.sqlite3"));
                let vfs = PowerCut::new();
                vfs.cut_at_sync(k, loss);
                let mut acked = Vec::new();
                let conn = open(&path, &vfs);
                if conn.execute_batch("CREATE TABLE t (n INTEGER)").is_ok() && !vfs.is_cut() {
                    for n in 0..10 {
                        if conn.execute("INSERT INTO t VALUES (?1)", [n]).is_err() || vfs.is_cut() {
                            break;
                        }
                        acked.push(n);
                    }
                }
                assert!(vfs.is_cut(), "cut at {k}");
                drop(conn);
                vfs.discard();
                if acked.is_empty() {
                    continue;
                }
                let got = rows(&path);
                assert!(
                    got.starts_with(&acked) && got.len() <= acked.len() + 1,
                    "cut at sync {k} ({loss:?}): acknowledged {acked:?}, found {got:?}"
                );
            }
        }
    }
}
