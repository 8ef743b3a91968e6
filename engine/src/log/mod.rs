//! The durable log: an append-only sequence of entries in segment files.
//!
//! Layout on disk, in the log directory:
//!
//! * one file per segment, named after the index of its first entry
//!   (`00000000000000000001.seg`), so listing the directory orders them;
//! * a segment starts with a 24-byte header: magic `AFLOG\0\0\0`, format version
//!   (`u32` LE), reserved `u32`, index of the first entry (`u64` LE);
//! * then entries, each `length: u32 LE`, `crc32(payload): u32 LE`, `payload`. Entries are
//!   never empty, so a length of zero always marks space that was never written.
//!
//! # Torn writes and corruption
//!
//! An entry is acknowledged only once it has been synced, and a segment is synced before
//! the next one is started, so a crash can only leave an unfinished write at the end of
//! the newest segment: an entry cut short, or space the file system had allocated but
//! never filled (it reads back as zeros). On open, the first entry of the newest segment
//! that does not check out (incomplete, zero-filled, of length zero or past the limit,
//! failing its checksum) starts a *torn tail* when no intact entry follows it anywhere in
//! the segment. Nothing from there on was ever acknowledged, so it is cut off, with a
//! warning that says where, how many bytes, and from which entry on.
//!
//! When an intact entry does follow, the damaged one had been written in full and broke
//! afterwards (or its length field did): that is *corruption*, not a torn write, and the
//! log refuses to open with [`LogError::Corrupt`], because cutting there would drop
//! acknowledged entries. So does any damaged entry in an older segment. Such a log needs a
//! person: restore it from a backup, or cut it by hand and accept the loss.
//!
//! # Deleting covered segments
//!
//! Once a snapshot covers them and their records have been exported, the oldest segments
//! can be deleted ([`Log::delete_covered`]); the log then starts at a later index
//! ([`first_index`]).
//!
//! # Failed writes
//!
//! After a failed write or `fsync` the file may hold bytes that were never made durable.
//! [`Log::truncate_to`] takes the log back to the last durable end, and [`Log::probe`]
//! tells whether the file system accepts writes again.
//!
//! This module is synchronous; [`writer`] runs it on a thread of its own and adds group
//! commit. [`Reader`] follows a log from outside, one entry at a time.

pub mod writer;

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufReader, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

pub use writer::LogWriter;

const MAGIC: &[u8; 8] = b"AFLOG\0\0\0";
const VERSION: u32 = 1;
const HEADER_LEN: u64 = 24;
const ENTRY_HEADER_LEN: u64 = 8;
/// Largest payload accepted, so a damaged length field cannot make us allocate wildly.
pub const MAX_ENTRY_LEN: u32 = 64 * 1024 * 1024;
/// Bytes [`Log::probe`] writes and takes back.
const PROBE_LEN: usize = 4096;

/// What can go wrong with the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The file system refused an operation.
    #[error("log I/O error on {path}: {source}")]
    Io {
        /// File or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Data that was durable no longer reads back intact.
    #[error("log corrupted in {path} at byte {offset}: {reason}")]
    Corrupt {
        /// Segment file.
        path: PathBuf,
        /// Byte offset of the damaged entry or header.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// An entry is larger than [`MAX_ENTRY_LEN`].
    #[error("log entry of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// An entry is empty; a length of zero marks unwritten space.
    #[error("log entries cannot be empty")]
    Empty,
    /// An entry could not be encoded; nothing of it was written.
    #[error("log entry could not be encoded: {0}")]
    Encode(String),
    /// An earlier write failed and the log has not been recovered since.
    #[error("the log accepts nothing until it recovers from an earlier failed write")]
    Closed,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Tuning of the log.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// A segment is closed and a new one started once it grows past this size.
    pub max_segment_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            max_segment_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Where a log ends: the segment written last, its length, and the next entry's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEnd {
    segment: u64,
    len: u64,
    next_index: u64,
}

impl LogEnd {
    /// Index of the last entry (0 for none).
    #[must_use]
    pub fn last_index(&self) -> u64 {
        self.next_index - 1
    }
}

/// What [`Log::delete_covered`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Segment files deleted.
    pub segments: usize,
    /// Their size.
    pub bytes: u64,
    /// The log now starts after this entry (0 when nothing was deleted).
    pub through: u64,
}

/// An open log, positioned to append after its last intact entry.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    options: LogOptions,
    active: File,
    active_path: PathBuf,
    active_len: u64,
    active_entries: u64,
    next_index: u64,
}

impl Log {
    /// Opens (or creates) the log in `dir`, calling `replay(index, payload)` for every
    /// intact entry in order, and cuts off a torn tail (see the module docs).
    ///
    /// # Errors
    /// [`LogError::Corrupt`] when acknowledged data is damaged, [`LogError::Io`] on
    /// file-system failures, or whatever `replay` returns.
    pub fn open(
        dir: &Path,
        options: LogOptions,
        mut replay: impl FnMut(u64, &[u8]) -> Result<(), LogError>,
    ) -> Result<Self, LogError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let segments = list_segments(dir)?;
        // Deleting covered segments makes the log start after entry 1.
        let mut next_index = segments.first().map_or(1, |(first, _)| *first);
        let count = segments.len();
        for (i, (first, path)) in segments.iter().enumerate() {
            if *first != next_index {
                return Err(LogError::Corrupt {
                    path: path.clone(),
                    offset: 0,
                    reason: format!(
                        "segment starts at entry {first}, expected {next_index} (a segment is missing)"
                    ),
                });
            }
            let last = i + 1 == count;
            let scanned = scan_segment(path, *first, last, &mut replay)?;
            next_index = first + scanned.entries;
            if last {
                let mut file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .map_err(io_err(path))?;
                let mut valid_len = scanned.valid_len;
                if let Some(reason) = &scanned.torn {
                    tracing::warn!(
                        path = %path.display(),
                        at_byte = valid_len,
                        dropped_bytes = scanned.file_len - valid_len,
                        first_dropped_entry = next_index,
                        reason = %reason,
                        "cutting off a torn tail of the log (an unfinished write, never acknowledged)"
                    );
                    file.set_len(valid_len).map_err(io_err(path))?;
                    if valid_len < HEADER_LEN {
                        write_header(&mut file, *first).map_err(io_err(path))?;
                        valid_len = HEADER_LEN;
                    }
                    file.sync_all().map_err(io_err(path))?;
                }
                file.seek(SeekFrom::Start(valid_len))
                    .map_err(io_err(path))?;
                return Ok(Self {
                    dir: dir.to_owned(),
                    options,
                    active: file,
                    active_path: path.clone(),
                    active_len: valid_len,
                    active_entries: scanned.entries,
                    next_index,
                });
            }
        }
        let (active, active_path) = create_segment(dir, next_index)?;
        Ok(Self {
            dir: dir.to_owned(),
            options,
            active,
            active_path,
            active_len: HEADER_LEN,
            active_entries: 0,
            next_index,
        })
    }

    /// Index the next appended entry will get (entries count from 1).
    #[must_use]
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Where the log ends now (including what is written but not yet synced).
    #[must_use]
    pub fn end(&self) -> LogEnd {
        LogEnd {
            segment: self.next_index - self.active_entries,
            len: self.active_len,
            next_index: self.next_index,
        }
    }

    /// Writes entries (not yet durable; see [`Log::sync`]) and returns the index of the
    /// last one.
    ///
    /// # Errors
    /// [`LogError::TooLarge`] or [`LogError::Empty`] for an entry that cannot be stored
    /// (nothing is written then), or I/O errors, after which the log must be taken back
    /// to a durable end ([`Log::truncate_to`]) before it is written again.
    pub fn append_all<'a>(
        &mut self,
        payloads: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<u64, LogError> {
        let payloads: Vec<&[u8]> = payloads.into_iter().collect();
        for payload in &payloads {
            if payload.is_empty() {
                return Err(LogError::Empty);
            }
            if u32::try_from(payload.len()).map_or(true, |l| l > MAX_ENTRY_LEN) {
                return Err(LogError::TooLarge(payload.len()));
            }
        }
        let mut buf = Vec::new();
        for payload in payloads {
            let len = payload.len() as u32;
            let entry_len = ENTRY_HEADER_LEN + u64::from(len);
            if self.active_entries > 0
                && self.active_len + buf.len() as u64 + entry_len > self.options.max_segment_bytes
            {
                self.write_buf(&buf)?;
                buf.clear();
                self.roll()?;
            }
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            buf.extend_from_slice(payload);
            self.active_entries += 1;
            self.next_index += 1;
        }
        self.write_buf(&buf)?;
        Ok(self.next_index - 1)
    }

    fn write_buf(&mut self, buf: &[u8]) -> Result<(), LogError> {
        if buf.is_empty() {
            return Ok(());
        }
        self.active
            .write_all(buf)
            .map_err(io_err(&self.active_path))?;
        self.active_len += buf.len() as u64;
        Ok(())
    }

    /// Makes everything appended so far durable.
    ///
    /// # Errors
    /// I/O errors from `fsync`.
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.active.sync_data().map_err(io_err(&self.active_path))
    }

    /// A handle on the active segment for syncing it from another thread: `fsync` through
    /// it makes everything appended so far durable (earlier segments were synced when
    /// they were closed).
    ///
    /// # Errors
    /// When the file handle cannot be duplicated.
    pub fn sync_handle(&self) -> Result<File, LogError> {
        self.active.try_clone().map_err(io_err(&self.active_path))
    }

    fn roll(&mut self) -> Result<(), LogError> {
        self.sync()?;
        let (file, path) = create_segment(&self.dir, self.next_index)?;
        self.active = file;
        self.active_path = path;
        self.active_len = HEADER_LEN;
        self.active_entries = 0;
        Ok(())
    }

    /// Takes the log back to `end`, a durable end it had before: whatever was written
    /// after it (a group whose write or `fsync` failed, segments started since) is removed,
    /// and the active segment is opened afresh, since a handle whose `fsync` failed cannot
    /// be trusted to report the next failure.
    ///
    /// # Errors
    /// I/O errors; the log is then unchanged as far as appending goes and the call can be
    /// repeated.
    pub fn truncate_to(&mut self, end: LogEnd) -> Result<(), LogError> {
        let segments = list_segments(&self.dir)?;
        // A segment that a snapshot covered entirely may have been deleted since; the log
        // then goes on in the segment that starts where it ended.
        let (segment, len) = if segments.iter().any(|(first, _)| *first == end.segment) {
            (end.segment, end.len)
        } else {
            (end.next_index, HEADER_LEN)
        };
        for (first, path) in &segments {
            if *first > segment {
                match fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err(path)(e)),
                }
            }
        }
        let path = self.dir.join(segment_name(segment));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.set_len(len).map_err(io_err(&path))?;
        file.sync_all().map_err(io_err(&path))?;
        sync_dir(&self.dir)?;
        file.seek(SeekFrom::Start(len)).map_err(io_err(&path))?;
        self.active = file;
        self.active_path = path;
        self.active_len = len;
        self.active_entries = end.next_index - segment;
        self.next_index = end.next_index;
        Ok(())
    }

    /// Writes a block of zeros after the last entry, syncs it, and takes it back: succeeds
    /// only when the file system accepts writes, and has room, again.
    ///
    /// # Errors
    /// The write, `fsync` or truncation that failed.
    pub fn probe(&mut self) -> Result<(), LogError> {
        let at = self.active_len;
        let written = self
            .active
            .write_all(&[0; PROBE_LEN])
            .and_then(|()| self.active.sync_data());
        let restored = self
            .active
            .set_len(at)
            .and_then(|()| self.active.seek(SeekFrom::Start(at)))
            .and_then(|_| self.active.sync_data());
        written.and(restored).map_err(io_err(&self.active_path))
    }

    /// Deletes the oldest segments as long as every entry in them has an index of at most
    /// `covered`, oldest first (so a crash in between leaves a log without holes); the
    /// segment being appended to is never deleted.
    ///
    /// # Errors
    /// I/O errors; what was deleted before one stays deleted.
    pub fn delete_covered(&mut self, covered: u64) -> Result<Deleted, LogError> {
        let segments = list_segments(&self.dir)?;
        let mut deleted = Deleted::default();
        for pair in segments.windows(2) {
            let ((_, path), (next_first, _)) = (&pair[0], &pair[1]);
            if *next_first > covered + 1 || *path == self.active_path {
                break;
            }
            let bytes = fs::metadata(path).map_or(0, |m| m.len());
            fs::remove_file(path).map_err(io_err(path))?;
            deleted.segments += 1;
            deleted.bytes += bytes;
            deleted.through = next_first - 1;
        }
        if deleted.segments > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(deleted)
    }

    /// Reads every intact entry of the log in `dir`, starting at `from` (inclusive, or
    /// where the log starts if that is later), without opening it for writing.
    ///
    /// # Errors
    /// As [`Reader::next_entry`], or whatever `visit` returns.
    pub fn read(
        dir: &Path,
        from: u64,
        mut visit: impl FnMut(u64, &[u8]) -> Result<(), LogError>,
    ) -> Result<(), LogError> {
        let mut reader = Reader::new(dir, from);
        while let Some((index, payload)) = reader.next_entry()? {
            visit(index, &payload)?;
        }
        Ok(())
    }
}

/// Index of the oldest entry the log in `dir` still holds (1 for an empty or new log).
///
/// # Errors
/// When the directory cannot be listed.
pub fn first_index(dir: &Path) -> Result<u64, LogError> {
    Ok(list_segments(dir)?.first().map_or(1, |(first, _)| *first))
}

/// The first entry index of each segment in `dir`, oldest first.
///
/// # Errors
/// When the directory cannot be listed.
pub fn segments(dir: &Path) -> Result<Vec<u64>, LogError> {
    Ok(list_segments(dir)?
        .into_iter()
        .map(|(first, _)| first)
        .collect())
}

/// Reads a log's entries in order, one at a time, without opening it for writing. It
/// holds one entry in memory whatever the log's size, follows the log as it grows and
/// starts new segments, and moves on to where the log starts when the segments it was
/// about to read were deleted.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    next_index: u64,
    cursor: Option<Cursor>,
}

#[derive(Debug)]
struct Cursor {
    path: PathBuf,
    file: BufReader<File>,
    /// Byte offset of the next entry.
    offset: u64,
    /// Index of the next entry.
    index: u64,
}

enum Step {
    Entry(u64, Vec<u8>),
    Skipped,
    /// No complete entry at the cursor; `partial` if some bytes of one are there.
    End {
        partial: bool,
    },
}

impl Reader {
    /// A reader of the log in `dir` from entry `from` on; it touches the disk only when
    /// asked for an entry.
    #[must_use]
    pub fn new(dir: &Path, from: u64) -> Self {
        Self {
            dir: dir.to_owned(),
            next_index: from.max(1),
            cursor: None,
        }
    }

    /// The next intact entry, or `None` at the end of what is written so far (a later
    /// call may find more).
    ///
    /// # Errors
    /// [`LogError::Corrupt`] for a damaged entry or segment, I/O errors otherwise.
    pub fn next_entry(&mut self) -> Result<Option<(u64, Vec<u8>)>, LogError> {
        loop {
            if self.cursor.is_none() {
                let segments = list_segments(&self.dir)?;
                let Some((first, path)) = segments
                    .iter()
                    .rev()
                    .find(|(first, _)| *first <= self.next_index)
                    .or_else(|| segments.first())
                else {
                    return Ok(None);
                };
                // Segments before `first` were deleted (or never existed).
                self.next_index = self.next_index.max(*first);
                match Cursor::open(path, *first) {
                    Ok(cursor) => self.cursor = Some(cursor),
                    // Deleted since it was listed: list again.
                    Err(LogError::Io { source, .. })
                        if source.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            let Some(cursor) = self.cursor.as_mut() else {
                continue;
            };
            let want = cursor.index >= self.next_index;
            match cursor.step(want)? {
                Step::Entry(index, payload) => {
                    self.next_index = index + 1;
                    return Ok(Some((index, payload)));
                }
                Step::Skipped => {}
                Step::End { partial } => {
                    // The segment goes on in the next one if a segment starts right here;
                    // otherwise this is the end of what is written so far.
                    let follows = list_segments(&self.dir)?
                        .iter()
                        .any(|(first, _)| *first == cursor.index);
                    if !follows {
                        return Ok(None);
                    }
                    if partial {
                        // The segment may have grown since it was read: read once more.
                        match cursor.step(want)? {
                            Step::Entry(index, payload) => {
                                self.next_index = index + 1;
                                return Ok(Some((index, payload)));
                            }
                            Step::Skipped => continue,
                            Step::End { partial: true } => {
                                return Err(LogError::Corrupt {
                                    path: cursor.path.clone(),
                                    offset: cursor.offset,
                                    reason: format!(
                                        "entry {} is incomplete, yet a later segment exists",
                                        cursor.index
                                    ),
                                });
                            }
                            Step::End { partial: false } => {}
                        }
                    }
                    self.next_index = self.next_index.max(cursor.index);
                    self.cursor = None;
                }
            }
        }
    }
}

impl Cursor {
    fn open(path: &Path, first: u64) -> Result<Self, LogError> {
        let file = File::open(path).map_err(io_err(path))?;
        let mut file = BufReader::with_capacity(64 * 1024, file);
        let mut header = [0u8; HEADER_LEN as usize];
        let got = read_full(&mut file, &mut header).map_err(io_err(path))?;
        let corrupt = |offset: u64, reason: String| LogError::Corrupt {
            path: path.to_owned(),
            offset,
            reason,
        };
        if got < header.len() {
            return Err(corrupt(0, "segment header is incomplete".into()));
        }
        check_header(&header, first).map_err(|(offset, reason)| corrupt(offset, reason))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            offset: HEADER_LEN,
            index: first,
        })
    }

    /// Reads the entry at the cursor (or only steps over it, unchecked, if not `want`ed).
    fn step(&mut self, want: bool) -> Result<Step, LogError> {
        let path = &self.path;
        let mut header = [0u8; ENTRY_HEADER_LEN as usize];
        let got = read_full(&mut self.file, &mut header).map_err(io_err(path))?;
        if got == 0 {
            return Ok(Step::End { partial: false });
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        // Zeros are unwritten space (a write under way, or a probe of the writer).
        if got < header.len() || len == 0 {
            self.rewind()?;
            return Ok(Step::End { partial: true });
        }
        if len > MAX_ENTRY_LEN {
            return Err(LogError::Corrupt {
                path: path.clone(),
                offset: self.offset,
                reason: format!("entry {} {}", self.index, Problem::TooLong(len)),
            });
        }
        let end = self.offset + ENTRY_HEADER_LEN + u64::from(len);
        if !want {
            let size = self.file.get_ref().metadata().map_err(io_err(path))?.len();
            if size < end {
                self.rewind()?;
                return Ok(Step::End { partial: true });
            }
            self.file
                .seek_relative(i64::from(len))
                .map_err(io_err(path))?;
            self.offset = end;
            self.index += 1;
            return Ok(Step::Skipped);
        }
        let mut payload = vec![0; len as usize];
        let got = read_full(&mut self.file, &mut payload).map_err(io_err(path))?;
        if got < payload.len() {
            self.rewind()?;
            return Ok(Step::End { partial: true });
        }
        if crc32fast::hash(&payload) != crc {
            return Err(LogError::Corrupt {
                path: path.clone(),
                offset: self.offset,
                reason: format!("entry {} {}", self.index, Problem::Checksum),
            });
        }
        let index = self.index;
        self.offset = end;
        self.index += 1;
        Ok(Step::Entry(index, payload))
    }

    fn rewind(&mut self) -> Result<(), LogError> {
        self.file
            .seek(SeekFrom::Start(self.offset))
            .map(drop)
            .map_err(io_err(&self.path))
    }
}

/// Reads until `buf` is full or the file ends; returns how much was read.
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn segment_name(first: u64) -> String {
    format!("{first:020}.seg")
}

fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, LogError> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
            continue;
        };
        if let Ok(first) = stem.parse::<u64>() {
            out.push((first, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn write_header(file: &mut File, first: u64) -> io::Result<()> {
    let mut header = Vec::with_capacity(HEADER_LEN as usize);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&first.to_le_bytes());
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&header)
}

/// Checks a segment header; on failure, the byte offset and what is wrong.
fn check_header(header: &[u8], first: u64) -> Result<(), (u64, String)> {
    if &header[..8] != MAGIC {
        return Err((0, "not a log segment (bad magic)".into()));
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if version != VERSION {
        return Err((8, format!("unsupported segment version {version}")));
    }
    let mut header_first = [0u8; 8];
    header_first.copy_from_slice(&header[16..24]);
    if u64::from_le_bytes(header_first) != first {
        return Err((16, "header disagrees with the file name".into()));
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

fn create_segment(dir: &Path, first: u64) -> Result<(File, PathBuf), LogError> {
    let path = dir.join(segment_name(first));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io_err(&path))?;
    write_header(&mut file, first).map_err(io_err(&path))?;
    file.sync_all().map_err(io_err(&path))?;
    // The new file name must be durable too, or a crash could lose the whole segment.
    sync_dir(dir)?;
    Ok((file, path))
}

/// What is wrong with an entry that does not check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    ZeroFilled,
    IncompleteHeader,
    Empty,
    TooLong(u32),
    PastEnd(u32),
    Checksum,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ZeroFilled => f.write_str("is zero-filled (space allocated but never written)"),
            Self::IncompleteHeader => f.write_str("has an incomplete header"),
            Self::Empty => f.write_str("has a length of 0"),
            Self::TooLong(len) => write!(f, "claims {len} bytes, more than the limit"),
            Self::PastEnd(len) => write!(f, "claims {len} bytes, more than the segment holds"),
            Self::Checksum => f.write_str("fails its checksum"),
        }
    }
}

/// The payload length of the intact entry at the start of `rest`, if there is one.
fn intact_len(rest: &[u8]) -> Option<usize> {
    let header = rest.get(..ENTRY_HEADER_LEN as usize)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len == 0 || len > MAX_ENTRY_LEN {
        return None;
    }
    let payload = rest.get(ENTRY_HEADER_LEN as usize..ENTRY_HEADER_LEN as usize + len as usize)?;
    (crc32fast::hash(payload) == crc).then_some(len as usize)
}

/// What is wrong with the entry at the start of `rest`, which is not intact.
fn problem(rest: &[u8]) -> Problem {
    if rest.iter().all(|b| *b == 0) {
        return Problem::ZeroFilled;
    }
    let Some(header) = rest.get(..ENTRY_HEADER_LEN as usize) else {
        return Problem::IncompleteHeader;
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if len == 0 {
        Problem::Empty
    } else if len > MAX_ENTRY_LEN {
        Problem::TooLong(len)
    } else if rest.len() < ENTRY_HEADER_LEN as usize + len as usize {
        Problem::PastEnd(len)
    } else {
        Problem::Checksum
    }
}

/// Byte offset of the first intact entry in `bytes` at or after `from`, trying every
/// offset: it tells a torn tail (nothing intact follows the damage) from corruption.
/// Lengths read from text or zeros are out of range, so almost every offset is rejected
/// without computing a checksum.
fn find_intact_entry(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|&offset| intact_len(&bytes[offset..]).is_some())
}

type Visitor<'a> = dyn FnMut(u64, &[u8]) -> Result<(), LogError> + 'a;

struct Scanned {
    entries: u64,
    /// Length of the intact part (below [`HEADER_LEN`] when the header must be written).
    valid_len: u64,
    file_len: u64,
    /// Why the rest of the file is a torn tail, if there is one.
    torn: Option<String>,
}

fn scan_segment(
    path: &Path,
    first: u64,
    last: bool,
    visit: &mut Visitor<'_>,
) -> Result<Scanned, LogError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let file_len = bytes.len() as u64;
    let corrupt = |offset: u64, reason: String| LogError::Corrupt {
        path: path.to_owned(),
        offset,
        reason,
    };
    // A crash while the newest segment was being created can leave its header incomplete
    // or unwritten.
    let header_missing =
        bytes.len() < HEADER_LEN as usize || bytes[..HEADER_LEN as usize].iter().all(|b| *b == 0);
    if header_missing {
        if !last {
            return Err(corrupt(0, "segment header is incomplete".into()));
        }
        if let Some(next) = find_intact_entry(&bytes, HEADER_LEN as usize) {
            return Err(corrupt(
                0,
                format!("segment header is missing, yet an intact entry follows at byte {next}"),
            ));
        }
        return Ok(Scanned {
            entries: 0,
            valid_len: 0,
            file_len,
            torn: Some("the segment header is incomplete".into()),
        });
    }
    check_header(&bytes[..HEADER_LEN as usize], first)
        .map_err(|(offset, reason)| corrupt(offset, reason))?;
    let mut offset = HEADER_LEN as usize;
    let mut entries = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        if let Some(len) = intact_len(rest) {
            let start = offset + ENTRY_HEADER_LEN as usize;
            visit(first + entries, &bytes[start..start + len])?;
            entries += 1;
            offset = start + len;
            continue;
        }
        let index = first + entries;
        let problem = problem(rest);
        if !last {
            return Err(corrupt(offset as u64, format!("entry {index} {problem}")));
        }
        if let Some(next) = find_intact_entry(&bytes, offset + 1) {
            return Err(corrupt(
                offset as u64,
                format!(
                    "entry {index} {problem}, yet an intact entry follows at byte {next}: \
                     written entries are damaged (corruption, not a torn write), and \
                     cutting the log here would lose acknowledged entries"
                ),
            ));
        }
        return Ok(Scanned {
            entries,
            valid_len: offset as u64,
            file_len,
            torn: Some(format!("entry {index} {problem}")),
        });
    }
    Ok(Scanned {
        entries,
        valid_len: offset as u64,
        file_len,
        torn: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Entries = Vec<(u64, Vec<u8>)>;

    fn collect(dir: &Path) -> Result<(Log, Entries), LogError> {
        let mut seen = Vec::new();
        let log = Log::open(dir, LogOptions::default(), |i, p| {
            seen.push((i, p.to_vec()));
            Ok(())
        })?;
        Ok((log, seen))
    }

    fn only_segment(dir: &Path) -> PathBuf {
        list_segments(dir).unwrap().remove(0).1
    }

    #[test]
    fn entries_survive_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, seen) = collect(dir.path()).unwrap();
        assert!(seen.is_empty());
        assert_eq!(log.append_all([&b"one"[..], b"two"]).unwrap(), 2);
        log.sync().unwrap();
        drop(log);
        let (mut log, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
        assert_eq!(log.append_all([&b"three"[..]]).unwrap(), 3);
        log.sync().unwrap();
        drop(log);
        let (_, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2], (3, b"three".to_vec()));
    }

    #[test]
    fn segments_roll_and_read_back_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let options = LogOptions {
            max_segment_bytes: 64,
        };
        let mut log = Log::open(dir.path(), options.clone(), |_, _| Ok(())).unwrap();
        for i in 0..10u8 {
            log.append_all([&[i; 20][..]]).unwrap();
        }
        log.sync().unwrap();
        drop(log);
        assert!(list_segments(dir.path()).unwrap().len() > 1);
        let mut seen = Vec::new();
        let log = Log::open(dir.path(), options, |i, p| {
            seen.push((i, p[0]));
            Ok(())
        })
        .unwrap();
        assert_eq!(log.next_index(), 11);
        assert_eq!(
            seen,
            (0..10).map(|i| (u64::from(i) + 1, i)).collect::<Vec<_>>()
        );
        let mut from_seven = Vec::new();
        Log::read(dir.path(), 7, |i, _| {
            from_seven.push(i);
            Ok(())
        })
        .unwrap();
        assert_eq!(from_seven, vec![7, 8, 9, 10]);
    }

    #[test]
    fn torn_tail_is_cut_off_and_appending_continues() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path()).unwrap();
        log.append_all([&b"kept"[..], b"torn-entry"]).unwrap();
        log.sync().unwrap();
        drop(log);
        let path = only_segment(dir.path());
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (mut log, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"kept".to_vec())]);
        assert_eq!(log.append_all([&b"next"[..]]).unwrap(), 2);
        log.sync().unwrap();
        drop(log);
        let (_, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"kept".to_vec()), (2, b"next".to_vec())]);
    }

    #[test]
    fn damaged_last_entry_counts_as_torn() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path()).unwrap();
        log.append_all([&b"kept"[..], b"flipped"]).unwrap();
        log.sync().unwrap();
        drop(log);
        let path = only_segment(dir.path());
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        let (_, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"kept".to_vec())]);
    }

    #[test]
    fn checksum_corruption_before_the_tail_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path()).unwrap();
        log.append_all([&b"first"[..], b"second"]).unwrap();
        log.sync().unwrap();
        drop(log);
        let path = only_segment(dir.path());
        let mut bytes = fs::read(&path).unwrap();
        // First payload byte of the first entry.
        bytes[(HEADER_LEN + ENTRY_HEADER_LEN) as usize] ^= 0x01;
        fs::write(&path, bytes).unwrap();
        let err = collect(dir.path()).unwrap_err();
        assert!(
            matches!(err, LogError::Corrupt { offset, .. } if offset == HEADER_LEN),
            "{err}"
        );
    }

    fn write_entries(dir: &Path, payloads: &[&[u8]]) {
        let (mut log, _) = collect(dir).unwrap();
        log.append_all(payloads.iter().copied()).unwrap();
        log.sync().unwrap();
    }

    fn append_bytes(path: &Path, bytes: &[u8]) {
        let mut file = OpenOptions::new().append(true).open(path).unwrap();
        file.write_all(bytes).unwrap();
    }

    #[test]
    fn a_zero_filled_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        write_entries(dir.path(), &[b"one", b"two"]);
        let path = only_segment(dir.path());
        let len = fs::metadata(&path).unwrap().len();
        append_bytes(&path, &[0; 4096]);
        let (mut log, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
        assert_eq!(fs::metadata(&path).unwrap().len(), len);
        assert_eq!(log.append_all([&b"three"[..]]).unwrap(), 3);
    }

    #[test]
    fn a_half_written_entry_followed_by_zeros_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        write_entries(dir.path(), &[b"one"]);
        let path = only_segment(dir.path());
        // The header of a 100-byte entry and 30 bytes of it, then unwritten space.
        let mut torn = Vec::new();
        torn.extend_from_slice(&100u32.to_le_bytes());
        torn.extend_from_slice(&crc32fast::hash(&[7; 100]).to_le_bytes());
        torn.extend_from_slice(&[7; 30]);
        torn.extend_from_slice(&[0; 4000]);
        append_bytes(&path, &torn);
        let (_, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"one".to_vec())]);
    }

    #[test]
    fn a_zero_filled_newest_segment_gets_its_header_back() {
        let dir = tempfile::tempdir().unwrap();
        let options = LogOptions {
            max_segment_bytes: 64,
        };
        let mut log = Log::open(dir.path(), options.clone(), |_, _| Ok(())).unwrap();
        for i in 0..4u8 {
            log.append_all([&[i + 1; 20][..]]).unwrap();
        }
        log.sync().unwrap();
        drop(log);
        let segments = list_segments(dir.path()).unwrap();
        let (first, newest) = segments.last().unwrap().clone();
        fs::write(&newest, [0; 512]).unwrap();
        let mut seen = Vec::new();
        let mut log = Log::open(dir.path(), options, |i, _| {
            seen.push(i);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, (1..first).collect::<Vec<_>>());
        assert_eq!(fs::metadata(&newest).unwrap().len(), HEADER_LEN);
        assert_eq!(log.append_all([&b"next"[..]]).unwrap(), first);
    }

    #[test]
    fn a_damaged_length_in_the_middle_refuses_to_open_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        write_entries(dir.path(), &[b"first", b"second", b"third"]);
        let path = only_segment(dir.path());
        let mut bytes = fs::read(&path).unwrap();
        // The length of entry 2 now runs past the end of the segment.
        let second = (HEADER_LEN + ENTRY_HEADER_LEN) as usize + 5;
        bytes[second + 3] = 0x01;
        fs::write(&path, &bytes).unwrap();
        let err = collect(dir.path()).unwrap_err();
        let LogError::Corrupt { offset, reason, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(*offset, second as u64);
        assert!(reason.contains("entry 2"), "{reason}");
        assert!(reason.contains("intact entry follows"), "{reason}");
        assert_eq!(fs::read(&path).unwrap(), bytes, "the log was changed");
    }

    #[test]
    fn truncating_to_a_durable_end_drops_later_writes_and_segments() {
        let dir = tempfile::tempdir().unwrap();
        let options = LogOptions {
            max_segment_bytes: 64,
        };
        let mut log = Log::open(dir.path(), options.clone(), |_, _| Ok(())).unwrap();
        log.append_all([&[1; 20][..]]).unwrap();
        log.sync().unwrap();
        let durable = log.end();
        for i in 2..6u8 {
            log.append_all([&[i; 20][..]]).unwrap();
        }
        assert!(list_segments(dir.path()).unwrap().len() > 1);
        log.truncate_to(durable).unwrap();
        assert_eq!(list_segments(dir.path()).unwrap().len(), 1);
        assert_eq!(log.append_all([&[9; 20][..]]).unwrap(), 2);
        log.probe().unwrap();
        log.sync().unwrap();
        drop(log);
        let mut seen = Vec::new();
        Log::open(dir.path(), options, |i, p| {
            seen.push((i, p[0]));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(1, 1), (2, 9)]);
    }

    #[test]
    fn covered_segments_are_deleted_and_the_log_starts_later() {
        let dir = tempfile::tempdir().unwrap();
        // Two 20-byte entries per segment.
        let options = LogOptions {
            max_segment_bytes: 84,
        };
        let mut log = Log::open(dir.path(), options.clone(), |_, _| Ok(())).unwrap();
        for i in 1..=10u8 {
            log.append_all([&[i; 20][..]]).unwrap();
        }
        log.sync().unwrap();
        assert_eq!(segments(dir.path()).unwrap(), vec![1, 3, 5, 7, 9]);
        // Entry 6 is covered: segments 1..=2, 3..=4 and 5..=6 go, 7..=8 stays.
        let deleted = log.delete_covered(6).unwrap();
        assert_eq!((deleted.segments, deleted.through), (3, 6));
        assert_eq!(first_index(dir.path()).unwrap(), 7);
        let mut from_start = Vec::new();
        Log::read(dir.path(), 1, |i, _| {
            from_start.push(i);
            Ok(())
        })
        .unwrap();
        assert_eq!(from_start, vec![7, 8, 9, 10]);
        // Never the segment being appended to.
        assert_eq!(log.delete_covered(100).unwrap().segments, 1);
        assert_eq!(segments(dir.path()).unwrap(), vec![9]);
        drop(log);
        let mut seen = Vec::new();
        let log = Log::open(dir.path(), options, |i, _| {
            seen.push(i);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![9, 10]);
        assert_eq!(log.next_index(), 11);
    }

    #[test]
    fn truncating_into_a_deleted_segment_goes_on_in_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let options = LogOptions {
            max_segment_bytes: 84,
        };
        let mut log = Log::open(dir.path(), options.clone(), |_, _| Ok(())).unwrap();
        for i in 1..=2u8 {
            log.append_all([&[i; 20][..]]).unwrap();
        }
        log.sync().unwrap();
        // Durable up to entry 2, the end of segment 1; entry 3 starts segment 3 and is
        // never synced, and a snapshot covering entry 2 let segment 1 be deleted.
        let durable = log.end();
        log.append_all([&[3; 20][..]]).unwrap();
        assert_eq!(log.delete_covered(2).unwrap().segments, 1);
        log.truncate_to(durable).unwrap();
        assert_eq!(log.append_all([&[4; 20][..]]).unwrap(), 3);
        log.sync().unwrap();
        drop(log);
        let mut seen = Vec::new();
        Log::open(dir.path(), options, |i, p| {
            seen.push((i, p[0]));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(3, 4)]);
    }

    #[test]
    fn a_reader_follows_the_log_as_it_grows_and_rolls() {
        let dir = tempfile::tempdir().unwrap();
        let options = LogOptions {
            max_segment_bytes: 64,
        };
        let mut log = Log::open(dir.path(), options, |_, _| Ok(())).unwrap();
        log.append_all([&[1; 20][..]]).unwrap();
        log.sync().unwrap();
        let mut reader = Reader::new(dir.path(), 1);
        assert_eq!(reader.next_entry().unwrap(), Some((1, vec![1; 20])));
        assert_eq!(reader.next_entry().unwrap(), None);
        for i in 2..=5u8 {
            log.append_all([&[i; 20][..]]).unwrap();
        }
        log.sync().unwrap();
        let mut seen = Vec::new();
        while let Some((i, p)) = reader.next_entry().unwrap() {
            seen.push((i, p[0]));
        }
        assert_eq!(seen, vec![(2, 2), (3, 3), (4, 4), (5, 5)]);
        // Zeros after the end (a probe under way) read as the end, not as damage.
        log.probe().unwrap();
        append_bytes(&log.active_path, &[0; 64]);
        assert_eq!(reader.next_entry().unwrap(), None);
    }
}
