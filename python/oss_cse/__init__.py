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
