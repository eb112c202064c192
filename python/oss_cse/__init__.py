"""Alibaba Cloud OSS client-side encryption: the cse-core engine for Python.

Every format rule (header names, counter arithmetic, range rules) lives in the Rust engine;
this package re-exports its binding (``oss_cse._native``). See README.md for the drive loops.
"""

from ._native import (  # noqa: F401
    CEK_ALG_AES_CTR,
    CHUNK_DETACH_MIN,
    DEFAULT_PREFIX,
    RANGE_BEHAVIOR_HEADER,
    WRAP_ALG_KMS,
    WRAP_ALG_RSA,
    AuthenticationError,
    BodyPlan,
    BufferTooSmallError,
    ContentMaterial,
    CseError,
    Envelope,
    ExtendedError,
    FinishedError,
    IntegrityError,
    InvalidHeaderError,
    InvalidKeyError,
    Keyring,
    LengthError,
    MultipartContext,
    MultipartError,
    NotEncryptedError,
    Opener,
    PartSealer,
    RandomError,
    RangeError,
    RangeNotSatisfiableError,
    RangePlan,
    RsaMasterCipher,
    SealedEnvelope,
    Sealer,
    TruncatedError,
    UnwrapError,
    WrapError,
    decrypt_file,
    encrypt_file,
    is_envelope_header,
    meta_json,
    plan_range,
)

import io as _io

from . import _native


class SealingReader(_io.RawIOBase):
    """A binary file-like object that seals ``source`` as it is read: the counterpart of the
    SDK V2's ``encrypt_content(reader)``, and a body any HTTP client can stream.

    ``sealer`` is a ``Sealer`` or ``PartSealer``, which the reader takes over; ``source`` is a
    readable binary file-like object (``readinto`` is used when it has one). Each
    ``readinto(b)`` fills ``b`` from the source and seals it, 256 KiB at a time: a raw file
    (``open(path, "rb", buffering=0)``) is read by the sealing threads themselves; any other
    source is read here while earlier segments are sealed (with ``threads`` above 1, on the
    package's pool). A short read from the source ends the call, as ``RawIOBase`` does. Reads
    stop at the sealer's declared length; a source shorter than it raises ``TruncatedError``
    (``LengthError`` for a part) at its end, a longer one ``ExtendedError``. After an error ``b``
    is zeroed; once bytes of the source were lost, every read raises ``FinishedError``.
    """

    def __init__(self, sealer, source) -> None:
        super().__init__()
        self._native = _native.SealingReader(sealer, source)

    def readable(self) -> bool:
        return True

    def readinto(self, b):
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._native.readinto(b)

    def readall(self):
        out = bytearray()
        chunk = bytearray(1 << 20)
        while True:
            n = self.readinto(chunk)
            if n is None:  # a non-blocking source with nothing now
                return bytes(out) if out else None
            if n == 0:
                return bytes(out)
            out += memoryview(chunk)[:n]

    def tell(self) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._native.tell()

    def close(self) -> None:
        """Closes the reader and lets go of the source (and of the duplicate of a raw file's
        descriptor); the source itself is not closed."""
        super().close()
        self._native = None

    def __repr__(self) -> str:
        return repr(self._native)


__all__ = [name for name in dir() if not name.startswith("_")]


def _register_with_sdk() -> None:
    """Makes RsaMasterCipher a virtual subclass of the official SDK's MasterCipher ABC, when the
    SDK is installed, so code that checks ``isinstance(key, MasterCipher)`` accepts it."""
    try:
        from alibabacloud_oss_v2.crypto import MasterCipher
    except Exception:  # the SDK is optional
        return
    MasterCipher.register(RsaMasterCipher)


_register_with_sdk()
