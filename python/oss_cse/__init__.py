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
    ``readinto(b)`` fills ``b`` from the source and seals it, 256 KiB at a time on the sealer's
    ``threads``, reading the next 256 KiB while the last are sealed. A source shorter than the
    sealer's declared length raises ``TruncatedError`` (``LengthError`` for a part) at its end,
    a longer one ``ExtendedError``; after any error every read raises ``FinishedError``.
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

    def readall(self) -> bytes:
        out = bytearray()
        chunk = bytearray(1 << 20)
        while n := self.readinto(chunk):
            out += memoryview(chunk)[:n]
        return bytes(out)

    def tell(self) -> int:
        return self._native.tell()

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
