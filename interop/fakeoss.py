"""An in-memory stand-in for the OSS object API, served over real HTTP on 127.0.0.1.

Both official Python SDKs (alibabacloud-oss-v2 and oss2) talk to it through their
normal transports: point them at the endpoint returned by ``FakeOSS.start()``.
An IP endpoint makes both SDKs use path-style addressing (``/bucket/key``).

What it implements (enough for client-side encryption, nothing more):

* PutObject, GetObject, HeadObject, DeleteObject
* InitiateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload
* user metadata: every ``x-oss-meta-*`` request header is stored under its lower-case
  name and returned lower-case on GET/HEAD, as OSS does
* Range on GET, in both of OSS's modes:
  - with ``x-oss-range-behavior: standard``: RFC 9110 rules (206 with Content-Range,
    an end past the object is clamped, 416 InvalidRange when unsatisfiable);
  - without it (OSS's default): a range that is malformed or not wholly inside the
    object is ignored and the whole object comes back with 200.
  Only the first range of a multi-range header is used, as OSS does.
* ``Content-MD5`` on PutObject/UploadPart is verified against the body (400 BadDigest)
* ``x-oss-hash-crc64ecma`` (CRC-64/XZ, "ECMA" in OSS terms) over the stored bytes,
  so the SDKs' upload CRC checks run against real values; ETag is the MD5 of the body
  (multipart: MD5 of the part MD5s plus ``-N``)
* for uploads carrying client-side-encryption headers, the server-side checks the OSS
  error documentation lists: every UploadPart's part-size / data-size must equal the
  Initiate values, and at Complete every non-last part must be exactly part-size bytes
  and the parts must add up to data-size (when data-size was given).

Not implemented: authentication (the Authorization header is ignored), buckets as
resources, listing, copy, append, the 100 KiB minimum part size of real OSS.

Authentication-free and loopback-only: never expose it beyond 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import re
import socketserver
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Dict, List, Optional, Tuple

META_PREFIX = "x-oss-meta-"
CSE_PREFIX = "x-oss-meta-client-side-encryption-"

# ---------------------------------------------------------------------------------------
# CRC-64 as OSS reports it in x-oss-hash-crc64ecma: reflected polynomial 0xC96C5795D7870F42,
# init and xor-out all ones (the catalogue's CRC-64/XZ). Check value for b"123456789" is
# 0x995DC9BBDF1939FA.

_CRC64_POLY_REFLECTED = 0xC96C5795D7870F42
_CRC64_TABLE: List[int] = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _CRC64_POLY_REFLECTED if _c & 1 else _c >> 1
    _CRC64_TABLE.append(_c)

try:  # crcmod (a dependency of both SDKs) has a C extension; use it when present.
    import crcmod  # type: ignore

    _crcmod_fn = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
except Exception:  # pragma: no cover - pure-Python fallback
    _crcmod_fn = None


def crc64ecma(data: bytes) -> int:
    """CRC-64/XZ of ``data`` (what OSS calls crc64ecma)."""
    if _crcmod_fn is not None:
        return _crcmod_fn(data)
    crc = 0xFFFFFFFFFFFFFFFF
    table = _CRC64_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


assert crc64ecma(b"123456789") == 0x995DC9BBDF1939FA


# ---------------------------------------------------------------------------------------
# Range handling


def parse_range_header(value: str) -> Optional[Tuple[Optional[int], Optional[int]]]:
    """Parse the first range of a ``bytes=`` header.

    Returns (first, last) where either may be None (open / suffix form), or None when the
    header is not a syntactically valid byte range (including ``b < a``).
    """
    m = re.fullmatch(r"\s*bytes\s*=\s*([^,]*)(,.*)?", value)
    if not m:
        return None
    spec = m.group(1).strip()
    m = re.fullmatch(r"(\d*)-(\d*)", spec)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    first = int(m.group(1)) if m.group(1) else None
    last = int(m.group(2)) if m.group(2) else None
    if first is not None and last is not None and last < first:
        return None
    return first, last


def resolve_range_standard(first: Optional[int], last: Optional[int], size: int) -> Optional[Tuple[int, int]]:
    """RFC 9110 §14.1.2: the satisfiable [start, end] or None for 416."""
    if first is None:  # suffix
        assert last is not None
        if last == 0 or size == 0:
            return None
        return max(0, size - last), size - 1
    if first >= size:
        return None
    end = size - 1 if last is None else min(last, size - 1)
    return first, end


def resolve_range_legacy(first: Optional[int], last: Optional[int], size: int) -> Optional[Tuple[int, int]]:
    """OSS's default mode: a range wholly inside the object, else None (= ignore, send 200)."""
    if first is None:
        assert last is not None
        if last == 0 or last > size:
            return None
        return size - last, size - 1
    if first >= size:
        return None
    if last is None:
        return first, size - 1
    if last >= size:
        return None
    return first, last


# ---------------------------------------------------------------------------------------
# Storage


@dataclass
class StoredObject:
    data: bytes
    meta: Dict[str, str]  # lower-case x-oss-meta-* names -> values
    object_type: str = "Normal"
    content_type: str = "application/octet-stream"
    etag: str = ""
    last_modified: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if not self.etag:
            self.etag = hashlib.md5(self.data).hexdigest().upper()


@dataclass
class Part:
    data: bytes
    etag: str
    headers: Dict[str, str]


@dataclass
class Upload:
    bucket: str
    key: str
    meta: Dict[str, str]
    content_type: str
    parts: Dict[int, Part] = field(default_factory=dict)


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]  # lower-case names
    status: int


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOSS"
    fake: "FakeOSS"  # set on the subclass made per server

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - silence stderr logging
        pass

    # -- plumbing -----------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline().strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, headers: Dict[str, str], body: bytes = b"", head: bool = False) -> None:
        self.send_response(status)
        headers = dict(headers)
        headers.setdefault("x-oss-request-id", uuid.uuid4().hex[:24].upper())
        headers.setdefault("Date", formatdate(usegmt=True))
        headers["Content-Length"] = str(len(body)) if not head else headers.get("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)
        self._status = status

    def _error(self, status: int, code: str, message: str, head: bool = False, extra: Optional[Dict[str, str]] = None) -> None:
        rid = uuid.uuid4().hex[:24].upper()
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
            f"  <Code>{code}</Code>\n  <Message>{_xml_escape(message)}</Message>\n"
            f"  <RequestId>{rid}</RequestId>\n  <HostId>127.0.0.1</HostId>\n</Error>\n"
        ).encode()
        headers = {"Content-Type": "application/xml", "x-oss-request-id": rid}
        headers.update(extra or {})
        if head:
            headers["Content-Length"] = "0"
            self._send(status, headers, b"", head=True)
        else:
            self._send(status, headers, body)

    def _target(self) -> Tuple[str, str, Dict[str, str]]:
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v for k, v in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)}
        path = urllib.parse.unquote(parsed.path)
        parts = path.lstrip("/").split("/", 1)
        bucket = parts[0]
        key = parts[1] if len(parts) > 1 else ""
        return bucket, key, query

    def _dispatch(self, method: str) -> None:
        self._status = 0
        bucket, key, query = self._target()
        body = self._read_body() if method in ("PUT", "POST") else b""
        try:
            self.fake._handle(self, method, bucket, key, query, body)
        finally:
            self.fake.requests.append(
                LoggedRequest(
                    method=method,
                    path=f"/{bucket}/{key}",
                    query=query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    status=self._status,
                )
            )

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _user_meta(headers) -> Dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith(META_PREFIX)}


class FakeOSS:
    """In-memory OSS. Use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        self.objects: Dict[Tuple[str, str], StoredObject] = {}
        self.uploads: Dict[str, Upload] = {}
        self.requests: List[LoggedRequest] = []
        self._lock = threading.Lock()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self.endpoint = ""

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fakeoss", daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeOSS":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- direct access (bypassing HTTP) -------------------------------------------------

    def put_raw(self, bucket: str, key: str, data: bytes, meta: Dict[str, str], object_type: str = "Normal") -> None:
        """Store an object as if it had been uploaded: ``meta`` are full header names."""
        with self._lock:
            self.objects[(bucket, key)] = StoredObject(
                data=bytes(data), meta={k.lower(): v for k, v in meta.items()}, object_type=object_type
            )

    def get_raw(self, bucket: str, key: str) -> StoredObject:
        with self._lock:
            return self.objects[(bucket, key)]

    def head_headers(self, bucket: str, key: str) -> Dict[str, str]:
        """The ``x-oss-meta-*`` headers a HEAD would return, lower-case names."""
        return dict(self.get_raw(bucket, key).meta)

    # -- request handling ---------------------------------------------------------------

    def _object_headers(self, obj: StoredObject) -> Dict[str, str]:
        h = {
            "Content-Type": obj.content_type,
            "ETag": f'"{obj.etag}"',
            "Last-Modified": formatdate(obj.last_modified, usegmt=True),
            "Accept-Ranges": "bytes",
            "x-oss-object-type": obj.object_type,
            "x-oss-storage-class": "Standard",
            "x-oss-hash-crc64ecma": str(crc64ecma(obj.data)),
        }
        h.update(obj.meta)
        return h

    def _handle(self, h: _Handler, method: str, bucket: str, key: str, query: Dict[str, str], body: bytes) -> None:
        if not bucket or not key:
            h._error(400, "NotImplemented", "fake OSS supports object operations only", head=method == "HEAD")
            return
        if method == "PUT" and "partNumber" in query and "uploadId" in query:
            self._upload_part(h, bucket, key, query, body)
        elif method == "PUT" and not query.keys() - {"x-oss-ac-source-ip"}:
            self._put_object(h, bucket, key, body)
        elif method == "POST" and "uploads" in query:
            self._initiate(h, bucket, key)
        elif method == "POST" and "uploadId" in query:
            self._complete(h, bucket, key, query, body)
        elif method == "DELETE" and "uploadId" in query:
            with self._lock:
                self.uploads.pop(query["uploadId"], None)
            h._send(204, {})
        elif method == "DELETE":
            with self._lock:
                self.objects.pop((bucket, key), None)
            h._send(204, {})
        elif method in ("GET", "HEAD") and not (query.keys() - {"response-content-type"}):
            self._get_object(h, bucket, key, head=method == "HEAD")
        else:
            h._error(400, "NotImplemented", f"fake OSS does not implement {method} with {sorted(query)}",
                     head=method == "HEAD")

    @staticmethod
    def _check_md5(h: _Handler, body: bytes) -> bool:
        md5 = h.headers.get("Content-MD5")
        if md5 is not None and md5 != base64.b64encode(hashlib.md5(body).digest()).decode():
            h._error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
            return False
        return True

    def _put_object(self, h: _Handler, bucket: str, key: str, body: bytes) -> None:
        if not self._check_md5(h, body):
            return
        obj = StoredObject(data=body, meta=_user_meta(h.headers),
                           content_type=h.headers.get("Content-Type", "application/octet-stream"))
        with self._lock:
            self.objects[(bucket, key)] = obj
        h._send(200, {"ETag": f'"{obj.etag}"', "x-oss-hash-crc64ecma": str(crc64ecma(body)),
                      "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})

    def _get_object(self, h: _Handler, bucket: str, key: str, head: bool) -> None:
        with self._lock:
            obj = self.objects.get((bucket, key))
        if obj is None:
            h._error(404, "NoSuchKey", "The specified key does not exist.", head=head)
            return
        headers = self._object_headers(obj)
        size = len(obj.data)
        range_value = h.headers.get("Range")
        if head or range_value is None:
            headers["Content-Length"] = str(size)
            h._send(200, headers, obj.data, head=head)
            return
        standard = h.headers.get("x-oss-range-behavior", "").lower() == "standard"
        parsed = parse_range_header(range_value)
        if parsed is None:
            # Malformed: OSS ignores it in both modes.
            h._send(200, headers, obj.data)
            return
        resolver = resolve_range_standard if standard else resolve_range_legacy
        span = resolver(parsed[0], parsed[1], size)
        if span is None:
            if standard:
                h._error(416, "InvalidRange", "The requested range cannot be satisfied")
            else:
                h._send(200, headers, obj.data)
            return
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        h._send(206, headers, obj.data[start:end + 1])

    def _initiate(self, h: _Handler, bucket: str, key: str) -> None:
        upload_id = uuid.uuid4().hex.upper()
        with self._lock:
            self.uploads[upload_id] = Upload(bucket=bucket, key=key, meta=_user_meta(h.headers),
                                             content_type=h.headers.get("Content-Type", "application/octet-stream"))
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult>\n'
            f"  <Bucket>{_xml_escape(bucket)}</Bucket>\n  <Key>{_xml_escape(key)}</Key>\n"
            f"  <UploadId>{upload_id}</UploadId>\n</InitiateMultipartUploadResult>\n"
        ).encode()
        h._send(200, {"Content-Type": "application/xml"}, xml)

    def _upload_part(self, h: _Handler, bucket: str, key: str, query: Dict[str, str], body: bytes) -> None:
        with self._lock:
            up = self.uploads.get(query["uploadId"])
        if up is None or (up.bucket, up.key) != (bucket, key):
            h._error(404, "NoSuchUpload", "The specified upload does not exist.")
            return
        try:
            number = int(query["partNumber"])
        except ValueError:
            number = 0
        if not 1 <= number <= 10000:
            h._error(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.")
            return
        if not self._check_md5(h, body):
            return
        req_meta = _user_meta(h.headers)
        for suffix in ("part-size", "data-size"):
            name = CSE_PREFIX + suffix
            if name in req_meta and req_meta[name] != up.meta.get(name):
                h._error(400, "InvalidEncryptionRequest",
                         f"{name} of UploadPart ({req_meta[name]}) differs from InitiateMultipartUpload "
                         f"({up.meta.get(name)})")
                return
        etag = hashlib.md5(body).hexdigest().upper()
        with self._lock:
            up.parts[number] = Part(data=body, etag=etag, headers=req_meta)
        h._send(200, {"ETag": f'"{etag}"', "x-oss-hash-crc64ecma": str(crc64ecma(body))})

    def _complete(self, h: _Handler, bucket: str, key: str, query: Dict[str, str], body: bytes) -> None:
        with self._lock:
            up = self.uploads.get(query["uploadId"])
        if up is None or (up.bucket, up.key) != (bucket, key):
            h._error(404, "NoSuchUpload", "The specified upload does not exist.")
            return
        try:
            root = ET.fromstring(body)
            listed = [(int(p.findtext("PartNumber")), (p.findtext("ETag") or "").strip('"').upper())
                      for p in root.iter("Part")]
        except (ET.ParseError, TypeError, ValueError):
            h._error(400, "MalformedXML", "The XML you provided was not well-formed.")
            return
        if not listed:
            h._error(400, "MalformedXML", "no parts listed")
            return
        numbers = [n for n, _ in listed]
        if numbers != sorted(set(numbers)):
            h._error(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
            return
        for n, etag in listed:
            part = up.parts.get(n)
            if part is None or part.etag != etag:
                h._error(400, "InvalidPart", f"part {n} was not uploaded or its ETag does not match")
                return
        datas = [up.parts[n].data for n in numbers]
        part_size = up.meta.get(CSE_PREFIX + "part-size")
        data_size = up.meta.get(CSE_PREFIX + "data-size")
        if part_size is not None:
            ps = int(part_size)
            if any(len(d) != ps for d in datas[:-1]) or len(datas[-1]) > ps:
                h._error(400, "InvalidEncryptionRequest",
                         f"every part but the last must be exactly part-size {ps} bytes "
                         f"(got {[len(d) for d in datas]})")
                return
        data = b"".join(datas)
        if data_size is not None and int(data_size) != len(data):
            h._error(400, "InvalidEncryptionRequest",
                     f"parts add up to {len(data)} bytes, data-size says {data_size}")
            return
        md5s = b"".join(hashlib.md5(d).digest() for d in datas)
        etag = f"{hashlib.md5(md5s).hexdigest().upper()}-{len(datas)}"
        obj = StoredObject(data=data, meta=dict(up.meta), object_type="Multipart",
                           content_type=up.content_type, etag=etag)
        with self._lock:
            self.objects[(bucket, key)] = obj
            del self.uploads[query["uploadId"]]
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult>\n'
            f"  <Location>{h.fake.endpoint}/{_xml_escape(bucket)}/{_xml_escape(key)}</Location>\n"
            f"  <Bucket>{_xml_escape(bucket)}</Bucket>\n  <Key>{_xml_escape(key)}</Key>\n"
            f'  <ETag>"{etag}"</ETag>\n</CompleteMultipartUploadResult>\n'
        ).encode()
        h._send(200, {"Content-Type": "application/xml", "ETag": f'"{etag}"',
                      "x-oss-hash-crc64ecma": str(crc64ecma(data))}, xml)
