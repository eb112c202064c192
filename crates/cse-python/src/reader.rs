//! `SealingReader`: a file-like reader that seals a plaintext source as it is read, the
//! counterpart of the SDK V2's `encrypt_content(reader)` and a body that any HTTP client can
//! stream. The Python class `oss_cse.SealingReader` (an `io.RawIOBase`) wraps this one.
//!
//! Two ways of reading:
//! - **A raw regular file** (exactly `io.FileIO`, what `open(path, "rb", buffering=0)` returns):
//!   the reader keeps a duplicate of its descriptor, and the pool's threads read it themselves,
//!   each its own [`SEGMENT`] at its offset (`pread`), and seal what they read, with the GIL
//!   released; the file's own position is moved past the bytes after each call. How much to
//!   read comes from the file's length first, so that each segment's bytes are split off the
//!   sealer before they are read; a file whose length says it ended is read once more to be sure
//!   (files in `/proc` say 0), and read through its methods from then on if it had more.
//! - **Any other source**: `readinto(b)` (or `read`) is called on the calling thread, a segment
//!   at a time, into a byte-`memoryview` of that segment, while the pool's threads seal the
//!   segments already read. A short read ends the call (as `RawIOBase.readinto` does). The
//!   source is trusted as any file object is: Python cannot stop it from keeping the view it
//!   was given (or reaching the whole buffer through `view.obj`), and it must not write the
//!   buffer once its call has returned.
//!
//! Each segment's bytes are split off the sealer in stream order, so each is sealed with its own
//! stretch of the keystream. Reads never go past the sealer's declared length: a part ends at
//! its length without asking the source for more; a whole object asks for one byte more, and a
//! source that has it is `ExtendedError`. A source that ends short is `TruncatedError` (or
//! `LengthError` for a part).
//!
//! After an error the caller's buffer is zeroed (it may hold plaintext). If the source's bytes
//! were consumed, every later read raises `FinishedError`, since those bytes are lost; an error
//! before anything was consumed (an interrupted first read) leaves the reader usable.

use std::fs::File;
use std::sync::{Mutex, PoisonError};

use cse_core::{PartSealer, Sealer, StreamError};
use pyo3::exceptions::{PyBlockingIOError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyMemoryView, PySlice};

use crate::buffer::{InBuf, OutBuf};
use crate::error::{FinishedError, IntoPy as _, to_py};
use crate::stream::{Piece, PyPartSealer, PySealer, Split};

/// How much of the caller's buffer is read before it is handed to a thread to seal.
pub const SEGMENT: usize = 256 * 1024;

/// The sealer a reader drives: a whole object's or one part's.
#[derive(Debug)]
enum AnySealer {
    Whole(Sealer),
    Part(PartSealer),
}

impl Split for AnySealer {
    fn split_to(&mut self, len: u64) -> Result<Sealer, StreamError> {
        match self {
            Self::Whole(s) => s.split_to(len),
            Self::Part(s) => s.split_to(len),
        }
    }
}

impl AnySealer {
    fn finish(self) -> Result<u64, StreamError> {
        match self {
            Self::Whole(s) => s.finish(),
            Self::Part(s) => s.finish(),
        }
    }

    /// Bytes still to seal, when a length is declared.
    fn remaining(&self) -> Option<u64> {
        match self {
            Self::Whole(s) => s.remaining(),
            Self::Part(s) => Some(s.remaining()),
        }
    }
}

/// A raw regular file's own descriptor and the offset of its next byte.
#[derive(Debug)]
struct RawFile {
    file: File,
    offset: u64,
}

#[derive(Debug)]
enum State {
    Reading {
        sealer: Box<AnySealer>,
        source: Py<PyAny>,
        /// Set for a raw regular file, which the sealing threads read themselves.
        file: Option<RawFile>,
    },
    Done,
    Failed,
}

/// A failed read, and whether it consumed bytes of the source (then the stream is broken).
struct ReadError {
    err: PyErr,
    lost: bool,
}

impl ReadError {
    fn lost(err: PyErr) -> Self {
        Self { err, lost: true }
    }

    fn kept(err: PyErr) -> Self {
        Self { err, lost: false }
    }
}

type ReadResult<T> = Result<T, ReadError>;

/// What one read of the source gave.
enum Got {
    /// `n` bytes, and whether that was all that was asked for.
    Bytes(usize, bool),
    /// A non-blocking source with nothing to give now (`None`, or `BlockingIOError`).
    Nothing,
    End,
}

/// Reads from `source` into `view` (a byte memoryview of the unread rest of one segment):
/// `readinto` when the source has it, else `read` and a copy.
fn read_some(source: &Bound<'_, PyAny>, view: &Bound<'_, PyAny>, want: usize) -> PyResult<Got> {
    let py = source.py();
    let answer = if source.hasattr("readinto")? {
        source.call_method1("readinto", (view,))
    } else {
        source.call_method1("read", (want,)).and_then(|data| {
            if data.is_none() {
                return Ok(data);
            }
            let data = InBuf::get(&data, "source.read()")?;
            let bytes = data.as_slice();
            if bytes.len() <= want {
                OutBuf::get(view, "b")?.as_mut_slice()[..bytes.len()].copy_from_slice(bytes);
            }
            Ok(bytes.len().into_pyobject(py)?.into_any())
        })
    };
    let got = match answer {
        Ok(n) if n.is_none() => None,
        Ok(n) => Some(n.extract::<usize>()?),
        // A non-blocking buffered source says "nothing now" this way, with what it did write.
        Err(e) if e.is_instance_of::<PyBlockingIOError>(py) => {
            let written = e
                .value(py)
                .getattr("characters_written")
                .and_then(|n| n.extract::<usize>())
                .unwrap_or(0);
            (written > 0).then_some(written)
        }
        Err(e) => return Err(e),
    };
    match got {
        None => Ok(Got::Nothing),
        Some(n) if n > want => Err(PyValueError::new_err(format!(
            "the source returned {n} bytes where {want} were asked for"
        ))),
        Some(0) => Ok(Got::End),
        Some(n) => Ok(Got::Bytes(n, n == want)),
    }
}

/// A file-like reader that seals `source` as it is read. Made as
/// `SealingReader(sealer, source)`, which takes over the `Sealer` or `PartSealer`.
#[pyclass(module = "oss_cse._native", name = "SealingReader")]
#[derive(Debug)]
pub struct PySealingReader {
    state: State,
    threads: usize,
    delivered: u64,
    /// Set during a read: still set at the next one only if that read panicked.
    busy: bool,
}

#[pymethods]
impl PySealingReader {
    #[new]
    fn new(sealer: &Bound<'_, PyAny>, source: Bound<'_, PyAny>) -> PyResult<Self> {
        if !(source.hasattr("readinto")? || source.hasattr("read")?) {
            return Err(PyTypeError::new_err(
                "source must be a readable binary file-like object (with readinto() or read())",
            ));
        }
        // Everything that can fail comes before the sealer is taken over.
        let file = raw_file(&source)?;
        let (sealer, threads) = if let Ok(s) = sealer.cast::<PySealer>() {
            let mut s = s.try_borrow_mut()?;
            (s.take().map(AnySealer::Whole), s.thread_count())
        } else if let Ok(s) = sealer.cast::<PyPartSealer>() {
            let mut s = s.try_borrow_mut()?;
            (s.take().map(AnySealer::Part), s.thread_count())
        } else {
            return Err(PyTypeError::new_err(
                "sealer must be a Sealer or a PartSealer",
            ));
        };
        let sealer = sealer.ok_or_else(|| {
            FinishedError::new_err("this sealer was already finished or given to a reader")
        })?;
        Ok(Self {
            state: State::Reading {
                sealer: Box::new(sealer),
                source: source.unbind(),
                file,
            },
            threads,
            delivered: 0,
            busy: false,
        })
    }

    /// Fills `b` (writable) with sealed bytes; returns how many, 0 at the end, `None` when a
    /// non-blocking source has nothing yet. At the end of the source the sealer is finished:
    /// `TruncatedError` (or `LengthError` for a part) when the source was short.
    fn readinto(&mut self, py: Python<'_>, b: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        if self.busy {
            // The last read panicked part-way: its bytes are gone.
            self.state = State::Failed;
        }
        let total = OutBuf::get(b, "b")?.as_mut_slice().len();
        let State::Reading {
            sealer,
            source,
            file,
        } = &mut self.state
        else {
            return match self.state {
                State::Failed => Err(FinishedError::new_err(
                    "an earlier read of this SealingReader failed, and its bytes are lost: \
                     seal the object again from the start",
                )),
                _ => Ok(Some(0)),
            };
        };
        if total == 0 {
            return Ok(Some(0));
        }
        // Never past the declared length: a part stops at its end; a whole object asks for
        // one byte more, which a longer source then fails on.
        let want = match sealer.remaining() {
            Some(0) if matches!(**sealer, AnySealer::Part(_)) => 0,
            Some(left) => usize::try_from(left).unwrap_or(usize::MAX).clamp(1, total),
            None => total,
        };
        self.busy = true;
        let source = source.bind(py).clone();
        let read = if want == 0 {
            Ok((0, true))
        } else {
            read_into(py, sealer, self.threads, &source, file, b, want)
        };
        self.busy = false;
        let (filled, ended) = match read {
            Ok(step) => step,
            Err(ReadError { err, lost }) => {
                zero(b);
                if lost {
                    self.state = State::Failed;
                }
                return Err(err);
            }
        };
        self.delivered += filled as u64;
        if ended {
            if let State::Reading { sealer, .. } = std::mem::replace(&mut self.state, State::Failed)
                && let Err(e) = sealer.finish().py_err()
            {
                zero(b);
                return Err(e);
            }
            self.state = State::Done;
        }
        Ok((filled > 0 || ended).then_some(filled))
    }

    /// The number of sealed bytes this reader has delivered.
    fn tell(&self) -> u64 {
        self.delivered
    }

    fn __repr__(&self) -> String {
        let state = match self.state {
            State::Reading { .. } => "reading",
            State::Done => "done",
            State::Failed => "failed",
        };
        format!("SealingReader(delivered={}, {state})", self.delivered)
    }
}

fn stream_err(e: StreamError) -> PyErr {
    to_py(e.into())
}

/// Wipes `b`, which may hold plaintext after a failed read.
fn zero(b: &Bound<'_, PyAny>) {
    if let Ok(mut out) = OutBuf::get(b, "b") {
        out.as_mut_slice().fill(0);
    }
}

/// One read call: from the raw file when there is one (falling back to the source's methods if
/// the file turns out longer than its length said), else through the source's methods.
fn read_into(
    py: Python<'_>,
    sealer: &mut AnySealer,
    threads: usize,
    source: &Bound<'_, PyAny>,
    file: &mut Option<RawFile>,
    b: &Bound<'_, PyAny>,
    want: usize,
) -> ReadResult<(usize, bool)> {
    if let Some(raw) = file {
        match fill_from_file(py, sealer, threads, raw, b, want)? {
            Some(got) => {
                // The source's own position follows the bytes read, as a read would move it.
                source
                    .call_method1("seek", (raw.offset,))
                    .map_err(ReadError::lost)?;
                return Ok((got, got == 0));
            }
            // Its length said it ended, and it had more (a file in /proc): read it as a source.
            None => *file = None,
        }
    }
    let view = PyMemoryView::from(b)
        .and_then(|v| v.call_method1("cast", ("B",)))
        .map_err(ReadError::kept)?;
    fill(py, sealer, threads, source, &view, want)
}

/// Reads up to `want` bytes of `source` into the byte view `view` a segment at a time and seals
/// each segment once it is full (or the source gave less) on the pool, while the next one is
/// read; on this thread when there is no pool. Returns the bytes filled and whether the source
/// ended.
fn fill(
    py: Python<'_>,
    sealer: &mut AnySealer,
    threads: usize,
    source: &Bound<'_, PyAny>,
    view: &Bound<'_, PyAny>,
    want: usize,
) -> ReadResult<(usize, bool)> {
    // One buffer view per segment, all made before any is filled, so that each filled
    // segment's slice borrows only its own view while the source writes into the next one.
    let segments = (|| -> PyResult<Vec<(OutBuf, Bound<'_, PyAny>)>> {
        let mut segments = Vec::with_capacity(want.div_ceil(SEGMENT));
        for at in (0..want).step_by(SEGMENT) {
            let end = (at + SEGMENT).min(want);
            let slice = PySlice::new(py, isize::try_from(at)?, isize::try_from(end)?, 1);
            let segment = view.get_item(slice)?;
            segments.push((OutBuf::get(&segment, "b")?, segment));
        }
        Ok(segments)
    })();
    let mut segments = segments.map_err(ReadError::kept)?;
    let failed: Mutex<Option<StreamError>> = Mutex::new(None);
    let record = |sealed: Result<(), StreamError>| {
        if let Err(e) = sealed {
            failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(e);
        }
    };
    let record = &record;
    let read = match (threads > 1).then(crate::pool::get).flatten() {
        // The last segment read is sealed here, with the GIL released, rather than handed to a
        // pool thread that would have to wake for it while this one waits.
        Some(pool) => pool.in_place_scope(|scope| {
            read_segments(py, sealer, source, &mut segments, |sealer, piece, last| {
                if last {
                    py.detach(|| record(piece.seal(sealer)));
                } else {
                    scope.spawn(move |_| record(piece.seal(sealer)));
                }
            })
        }),
        None => read_segments(py, sealer, source, &mut segments, |sealer, piece, _| {
            record(piece.seal(sealer));
        }),
    }?;
    match failed.into_inner().unwrap_or_else(PoisonError::into_inner) {
        Some(e) => Err(ReadError::lost(stream_err(e))),
        None => Ok(read),
    }
}

/// The read loop of [`fill`]: fills each segment in turn, splits its bytes off the sealer and
/// gives them to `seal` (with whether they are the last of this call); stops after a segment
/// that the source did not fill (it ended, gave less, or has nothing now).
fn read_segments<'s>(
    py: Python<'_>,
    sealer: &mut AnySealer,
    source: &Bound<'_, PyAny>,
    segments: &'s mut [(OutBuf, Bound<'_, PyAny>)],
    mut seal: impl FnMut(Sealer, Piece<'s>, bool),
) -> ReadResult<(usize, bool)> {
    let mut filled = 0;
    let count = segments.len();
    for (i, (buf, segment)) in segments.iter_mut().enumerate() {
        let want = buf.as_mut_slice().len();
        let mut got = 0;
        let mut ended = false;
        let mut short = false;
        while got < want {
            let consumed = filled + got > 0;
            let fail = |e| ReadError {
                err: e,
                lost: consumed,
            };
            let rest = isize::try_from(got)
                .and_then(|a| Ok((a, isize::try_from(want)?)))
                .map_err(|e| fail(e.into()))
                .and_then(|(a, b)| segment.get_item(PySlice::new(py, a, b, 1)).map_err(fail))?;
            match read_some(source, &rest, want - got).map_err(fail)? {
                Got::Bytes(n, all) => {
                    got += n;
                    if !all {
                        short = true;
                        break;
                    }
                }
                Got::Nothing => {
                    short = true;
                    break;
                }
                Got::End => {
                    ended = true;
                    break;
                }
            }
        }
        if got > 0 {
            let piece = sealer
                .split_to(got as u64)
                .map_err(|e| ReadError::lost(stream_err(e)))?;
            let last = got < want || short || i + 1 == count;
            seal(piece, Piece::InPlace(&mut buf.as_mut_slice()[..got]), last);
            filled += got;
        }
        if got < want || short {
            return Ok((filled, ended));
        }
    }
    Ok((filled, false))
}

/// A duplicate of the descriptor of `source` and its position, when `source` is a raw
/// seekable regular file (exactly `io.FileIO`, not a subclass, which may read differently),
/// so that the sealing threads can read it at their own offsets. `None` for any other source,
/// which is read through its methods on the calling thread.
fn raw_file(source: &Bound<'_, PyAny>) -> PyResult<Option<RawFile>> {
    #[cfg(unix)]
    {
        let py = source.py();
        let file_io = py.import("io")?.getattr("FileIO")?;
        if !source.get_type().is(&file_io) || !source.call_method0("seekable")?.is_truthy()? {
            return Ok(None);
        }
        let fd: i32 = source.call_method0("fileno")?.extract()?;
        let dup: i32 = py.import("os")?.call_method1("dup", (fd,))?.extract()?;
        // Owned at once, so that it is closed whatever fails next.
        let file = crate::fd::own(dup);
        if !file.metadata()?.file_type().is_file() {
            return Ok(None);
        }
        let offset: u64 = source.call_method0("tell")?.extract()?;
        Ok(Some(RawFile { file, offset }))
    }
    #[cfg(not(unix))]
    {
        let _ = source;
        Ok(None)
    }
}

/// Reads up to `want` bytes from the raw file and seals them, a segment per pool thread, each
/// reading its own segment (`pread`) and sealing it; the calling thread takes the last. The GIL
/// is released throughout. Returns the bytes filled (0 at the end), or `None` when the file's
/// length said it ended but a read found more.
fn fill_from_file(
    py: Python<'_>,
    sealer: &mut AnySealer,
    threads: usize,
    raw: &mut RawFile,
    b: &Bound<'_, PyAny>,
    want: usize,
) -> ReadResult<Option<usize>> {
    let mut out = OutBuf::get(b, "b").map_err(ReadError::kept)?;
    let buf = &mut out.as_mut_slice()[..want];
    let (file, at) = (&raw.file, raw.offset);
    let filled = py.detach(|| -> ReadResult<Option<usize>> {
        let len = file
            .metadata()
            .map_err(|e| ReadError::kept(e.into()))?
            .len();
        let n = usize::try_from(len.saturating_sub(at))
            .unwrap_or(usize::MAX)
            .min(want);
        if n == 0 {
            // Confirm the end: some files (in /proc, say) give a length of 0 and have bytes.
            let more = read_at(file, &mut [0], at).map_err(|e| ReadError::kept(e.into()))?;
            return Ok((more == 0).then_some(0));
        }
        // A file longer than the declared length fails here, for good.
        let mut rest = sealer
            .split_to(n as u64)
            .map_err(|e| ReadError::lost(stream_err(e)))?;
        let mut chunks = buf[..n].chunks_mut(SEGMENT);
        let last_chunk = chunks.next_back();
        let mut jobs = Vec::with_capacity(n.div_ceil(SEGMENT));
        let mut from = at;
        for chunk in chunks {
            let len = chunk.len() as u64;
            let sealer = rest
                .split_to(len)
                .map_err(|e| ReadError::lost(stream_err(e)))?;
            jobs.push((sealer, chunk, from));
            from += len;
        }
        let last = last_chunk.map(|chunk| (rest, chunk, from));
        let failed: Mutex<Option<PyErr>> = Mutex::new(None);
        let run = |(sealer, chunk, from): (Sealer, &mut [u8], u64)| {
            let done = read_exact_at(file, chunk, from)
                .and_then(|()| Piece::InPlace(chunk).seal(sealer).py_err());
            if let Err(e) = done {
                failed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(e);
            }
        };
        let run = &run;
        let jobs = jobs.into_iter();
        match (threads > 1).then(crate::pool::get).flatten() {
            Some(pool) => pool.in_place_scope(|scope| {
                for job in jobs {
                    scope.spawn(move |_| run(job));
                }
                last.into_iter().for_each(run);
            }),
            None => jobs.chain(last).for_each(run),
        }
        match failed.into_inner().unwrap_or_else(PoisonError::into_inner) {
            Some(e) => Err(ReadError::lost(e)),
            None => Ok(Some(n)),
        }
    })?;
    if let Some(n) = filled {
        raw.offset += n as u64;
    }
    Ok(filled)
}

/// One positional read, retried when interrupted.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt as _;
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(not(unix))]
fn read_at(_: &File, _: &mut [u8], _: u64) -> std::io::Result<usize> {
    // `raw_file` hands out no file on these systems.
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Fills `buf` from `file` at `offset`; a file that ends first is an error, since its length
/// was read before the bytes were split off the sealer.
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> PyResult<()> {
    let mut done = 0;
    while done < buf.len() {
        match read_at(file, &mut buf[done..], offset + done as u64)? {
            0 => {
                return Err(PyOSError::new_err(format!(
                    "the source file ended at byte {} while it was read, shorter than a moment \
                     before: do not change a file while it is sealed",
                    offset + done as u64
                )));
            }
            n => done += n,
        }
    }
    Ok(())
}
