//! `SealingReader`: a file-like reader that seals a plaintext source as it is read, the
//! counterpart of the SDK V2's `encrypt_content(reader)` and a body that any HTTP client can
//! stream. The Python class `oss_cse.SealingReader` (an `io.RawIOBase`) wraps this one.
//!
//! `readinto(b)` fills `b` from the source a segment ([`SEGMENT`] bytes) at a time and hands
//! each filled segment to a pool thread to seal while it reads the next, sealing the last one
//! itself: reading and sealing overlap, on as many threads as the sealer's `threads`. Each
//! segment's bytes are split off the sealer in stream order, so each is sealed with its own part
//! of the keystream. The source only ever writes into the segment being read (a `memoryview` of
//! it); the engine only ever holds the segments already read, so the two never share memory.
//!
//! The reader is strict: a source that ends before the sealer's declared length raises
//! `TruncatedError`, one that runs past it `ExtendedError`, and after any error (the source's
//! own included) every read raises, since the bytes of the failed read are gone from the stream.

use std::ops::Range;
use std::sync::Mutex;

use cse_core::{PartSealer, Sealer, StreamError};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyMemoryView, PySlice};

use crate::buffer::OutBuf;
use crate::error::{FinishedError, IntoPy as _};
use crate::stream::{Piece, PyPartSealer, PySealer, Split, Transform};

/// How much of the caller's buffer is read before it is handed to a thread to seal.
pub const SEGMENT: usize = 256 * 1024;

/// The sealer a reader drives: a whole object's or one part's.
#[derive(Debug)]
enum AnySealer {
    Whole(Sealer),
    Part(PartSealer),
}

impl Transform for AnySealer {
    fn update_buf(&mut self, input: &[u8], output: &mut [u8]) -> Result<usize, StreamError> {
        match self {
            Self::Whole(s) => s.update(input, output),
            Self::Part(s) => s.update(input, output),
        }
    }

    fn in_place(&mut self, buf: &mut [u8]) -> Result<Range<usize>, StreamError> {
        match self {
            Self::Whole(s) => s.update_in_place(buf),
            Self::Part(s) => s.update_in_place(buf),
        }
    }
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
}

#[derive(Debug)]
enum State {
    Reading {
        sealer: Box<AnySealer>,
        source: Py<PyAny>,
        /// A raw file source's own descriptor and the offset of its next byte: then the
        /// sealing threads read it themselves, at their offsets (`pread`).
        file: Option<(std::fs::File, u64)>,
    },
    Done,
    Failed,
}

/// What one read of the source gave.
enum Got {
    Bytes(usize),
    /// A non-blocking source with nothing to give now (`readinto` returned `None`).
    Nothing,
    End,
}

/// Reads from `source` into `view` (a memoryview of one segment's unread rest): `readinto`
/// when the source has it, else `read` and a copy.
fn read_some(source: &Bound<'_, PyAny>, view: &Bound<'_, PyAny>, want: usize) -> PyResult<Got> {
    let got = if source.hasattr("readinto")? {
        let n = source.call_method1("readinto", (view,))?;
        if n.is_none() {
            return Ok(Got::Nothing);
        }
        n.extract::<usize>()?
    } else {
        let data = source.call_method1("read", (want,))?;
        if data.is_none() {
            return Ok(Got::Nothing);
        }
        let data = crate::buffer::InBuf::get(&data, "source.read()")?;
        let bytes = data.as_slice();
        if bytes.len() <= want {
            OutBuf::get(view, "b")?.as_mut_slice()[..bytes.len()].copy_from_slice(bytes);
        }
        bytes.len()
    };
    if got > want {
        return Err(PyValueError::new_err(format!(
            "the source returned {got} bytes where {want} were asked for"
        )));
    }
    Ok(if got == 0 { Got::End } else { Got::Bytes(got) })
}

/// A file-like reader that seals `source` as it is read. Made as
/// `SealingReader(sealer, source)`, which takes over the `Sealer` or `PartSealer`.
#[pyclass(module = "oss_cse._native", name = "SealingReader")]
#[derive(Debug)]
pub struct PySealingReader {
    state: State,
    threads: usize,
    position: u64,
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
        let (sealer, threads) = if let Ok(s) = sealer.cast::<PySealer>() {
            let mut s = s.try_borrow_mut()?;
            let threads = s.thread_count();
            (s.take().map(AnySealer::Whole), threads)
        } else if let Ok(s) = sealer.cast::<PyPartSealer>() {
            let mut s = s.try_borrow_mut()?;
            let threads = s.thread_count();
            (s.take().map(AnySealer::Part), threads)
        } else {
            return Err(PyTypeError::new_err(
                "sealer must be a Sealer or a PartSealer",
            ));
        };
        let sealer = sealer.ok_or_else(|| {
            FinishedError::new_err("this sealer was already finished or given to a reader")
        })?;
        let position = match &sealer {
            AnySealer::Whole(s) => s.position(),
            AnySealer::Part(_) => 0,
        };
        let file = raw_file(&source)?;
        Ok(Self {
            state: State::Reading {
                sealer: Box::new(sealer),
                source: source.unbind(),
                file,
            },
            threads,
            position,
        })
    }

    /// Fills `b` (writable) with sealed bytes; returns how many, 0 at the end, `None` when a
    /// non-blocking source has nothing yet. At the end of the source the sealer is finished:
    /// `TruncatedError` (or `LengthError` for a part) when the source was short.
    fn readinto(&mut self, py: Python<'_>, b: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        let (sealer, source, file) = match &mut self.state {
            State::Reading {
                sealer,
                source,
                file,
            } => (sealer, source.bind(py).clone(), file),
            State::Done => return Ok(Some(0)),
            State::Failed => {
                return Err(FinishedError::new_err(
                    "an earlier read of this SealingReader failed, and its bytes are lost: \
                     seal the object again from the start",
                ));
            }
        };
        let total = OutBuf::get(b, "b")?.as_mut_slice().len();
        if total == 0 {
            return Ok(Some(0));
        }
        let filled = match file {
            Some((file, offset)) => fill_from_file(py, sealer, self.threads, file, offset, b)
                .and_then(|got| {
                    // The source's own position follows the bytes read, as a read would move it.
                    source.call_method1("seek", (*offset,))?;
                    Ok((got, got == 0))
                }),
            None => fill(
                py,
                sealer,
                self.threads,
                &source,
                &PyMemoryView::from(b)?,
                total,
            ),
        };
        match filled {
            Ok((filled, ended)) => {
                self.position += filled as u64;
                if ended {
                    let State::Reading { sealer, .. } =
                        std::mem::replace(&mut self.state, State::Failed)
                    else {
                        return Ok(Some(filled));
                    };
                    sealer.finish().py_err()?;
                    self.state = State::Done;
                }
                Ok(if filled == 0 && !ended {
                    None
                } else {
                    Some(filled)
                })
            }
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }

    /// Bytes delivered so far (for a whole object, the plaintext offset reached).
    fn tell(&self) -> u64 {
        self.position
    }

    fn __repr__(&self) -> String {
        let state = match self.state {
            State::Reading { .. } => "reading",
            State::Done => "done",
            State::Failed => "failed",
        };
        format!("SealingReader(position={}, {state})", self.position)
    }
}

/// Reads `source` into `view` (`total` bytes) a segment at a time and seals each segment once
/// it is full (or the source ended) on the pool, while the next one is read; on this thread
/// when there is no pool. Returns the bytes filled and whether the source ended.
fn fill(
    py: Python<'_>,
    sealer: &mut AnySealer,
    threads: usize,
    source: &Bound<'_, PyAny>,
    view: &Bound<'_, PyMemoryView>,
    total: usize,
) -> PyResult<(usize, bool)> {
    // One buffer view per segment, all made before any is filled, so that each filled
    // segment's slice borrows only its own view while the source writes into the next one.
    let mut segments = Vec::with_capacity(total.div_ceil(SEGMENT));
    for at in (0..total).step_by(SEGMENT) {
        let end = (at + SEGMENT).min(total);
        let slice = PySlice::new(py, isize::try_from(at)?, isize::try_from(end)?, 1);
        let segment = view.get_item(slice)?;
        segments.push((OutBuf::get(&segment, "b")?, segment));
    }
    let failed: Mutex<Option<StreamError>> = Mutex::new(None);
    let record = |sealed: Result<(), StreamError>| {
        if let (Err(e), Ok(mut first)) = (sealed, failed.lock()) {
            first.get_or_insert(e);
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
    match failed.into_inner().ok().flatten() {
        Some(e) => Err(e).py_err(),
        None => Ok(read),
    }
}

/// The read loop of [`fill`]: fills each segment in turn (a short read reads on into the same
/// segment), splits its bytes off the sealer and gives them to `seal` (with whether they are the
/// last of this call); stops at a segment that is not full (the source ended, or a non-blocking one has nothing now).
fn read_segments<'s>(
    py: Python<'_>,
    sealer: &mut AnySealer,
    source: &Bound<'_, PyAny>,
    segments: &'s mut [(OutBuf, Bound<'_, PyAny>)],
    mut seal: impl FnMut(Sealer, Piece<'s>, bool),
) -> PyResult<(usize, bool)> {
    let mut filled = 0;
    let count = segments.len();
    for (i, (buf, segment)) in segments.iter_mut().enumerate() {
        let want = segment.len()?;
        let mut got = 0;
        let mut ended = false;
        while got < want {
            let rest = segment.get_item(PySlice::new(
                py,
                isize::try_from(got)?,
                isize::try_from(want)?,
                1,
            ))?;
            match read_some(source, &rest, want - got)? {
                Got::Bytes(n) => got += n,
                Got::Nothing => break,
                Got::End => {
                    ended = true;
                    break;
                }
            }
        }
        if got > 0 {
            let piece = sealer.split_to(got as u64).py_err()?;
            let last = got < want || i + 1 == count;
            seal(piece, Piece::InPlace(&mut buf.as_mut_slice()[..got]), last);
            filled += got;
        }
        if got < want {
            return Ok((filled, ended));
        }
    }
    Ok((filled, false))
}

/// A duplicate of the descriptor of `source` and its position, when `source` is a raw
/// seekable file (`io.FileIO`, what `open(path, "rb", buffering=0)` returns), so that the
/// sealing threads can read it at their own offsets. `None` for any other source, which is
/// read through its methods on the calling thread.
fn raw_file(source: &Bound<'_, PyAny>) -> PyResult<Option<(std::fs::File, u64)>> {
    #[cfg(unix)]
    {
        let py = source.py();
        let file_io = py.import("io")?.getattr("FileIO")?;
        if !source.is_instance(&file_io)? || !source.call_method0("seekable")?.is_truthy()? {
            return Ok(None);
        }
        let fd: i32 = source.call_method0("fileno")?.extract()?;
        let dup: i32 = py.import("os")?.call_method1("dup", (fd,))?.extract()?;
        let position: u64 = source.call_method0("tell")?.extract()?;
        Ok(Some((crate::fd::own(dup), position)))
    }
    #[cfg(not(unix))]
    {
        let _ = source;
        Ok(None)
    }
}

/// Reads up to `b`'s length from `file` at `offset` and seals it, a segment per pool thread,
/// each reading its own segment (`pread`) and sealing it; the calling thread takes the last.
/// The GIL is released throughout. How much is read comes from the file's length first, so
/// that each segment's bytes are split off the sealer before they are read; a file that
/// shrinks meanwhile is an error. Returns the bytes filled; 0 at the end of the file.
fn fill_from_file(
    py: Python<'_>,
    sealer: &mut AnySealer,
    threads: usize,
    file: &std::fs::File,
    offset: &mut u64,
    b: &Bound<'_, PyAny>,
) -> PyResult<usize> {
    let mut out = OutBuf::get(b, "b")?;
    let buf = out.as_mut_slice();
    let at = *offset;
    let filled = py.detach(|| -> PyResult<usize> {
        let len = file.metadata()?.len();
        let n = usize::try_from(len.saturating_sub(at))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        let mut rest = sealer.split_to(n as u64).py_err()?;
        let mut chunks = buf[..n].chunks_mut(SEGMENT);
        let last_chunk = chunks.next_back();
        let mut jobs = Vec::with_capacity(n.div_ceil(SEGMENT));
        let mut from = at;
        for chunk in chunks {
            let len = chunk.len() as u64;
            jobs.push((rest.split_to(len).py_err()?, chunk, from));
            from += len;
        }
        let last = last_chunk.map(|chunk| (rest, chunk, from));
        let failed: Mutex<Option<PyErr>> = Mutex::new(None);
        let run = |(sealer, chunk, from): (Sealer, &mut [u8], u64)| {
            let done = read_exact_at(file, chunk, from)
                .and_then(|()| Piece::InPlace(chunk).seal(sealer).py_err());
            if let (Err(e), Ok(mut first)) = (done, failed.lock()) {
                first.get_or_insert(e);
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
        match failed.into_inner().ok().flatten() {
            Some(e) => Err(e),
            None => Ok(n),
        }
    })?;
    *offset += filled as u64;
    Ok(filled)
}

/// Fills `buf` from `file` at `offset`; a file that ends first is an error, since its length
/// was read before the bytes were split off the sealer.
#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> PyResult<()> {
    use std::os::unix::fs::FileExt as _;
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => {
                return Err(PyOSError::new_err(format!(
                    "the source file ended at byte {} while it was read, shorter than a moment \
                     before: do not change a file while it is sealed",
                    offset + done as u64
                )));
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn read_exact_at(_: &std::fs::File, _: &mut [u8], _: u64) -> PyResult<()> {
    // `raw_file` hands out no file on these systems.
    Err(PyOSError::new_err("positional reads need a Unix system"))
}
