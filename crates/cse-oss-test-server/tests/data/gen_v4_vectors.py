"""Writes v4_vectors.json: OSS request signatures computed by the official Python SDK V2.

Run with a Python that has alibabacloud-oss-v2 installed (interop/.venv has it):

    python crates/cse-oss-test-server/tests/data/gen_v4_vectors.py

Each case fixes the credentials, the signing time, the method, bucket, key, the query string as
the SDK puts it on the URL, and the request headers; the SDK's own SignerV4 (and SignerV1) then
computes the Authorization header and the string to sign. `cargo test -p cse-oss-test-server`
checks the Rust signature code (the test server's verifier) against this file without Python.
"""

import datetime
import json
import pathlib
from urllib.parse import quote, urlencode

import alibabacloud_oss_v2
from alibabacloud_oss_v2.signer import SignerV1, SignerV4
from alibabacloud_oss_v2.types import Credentials, HttpRequest, SigningContext

HERE = pathlib.Path(__file__).resolve().parent

CASES = [
    # name, method, bucket, key, params, headers, additional_headers, token, region, time
    ("put-object", "PUT", "examplebucket", "exampleobject", {},
     {"Content-Type": "application/octet-stream", "x-oss-meta-a": "1"}, None, None, "cn-hangzhou",
     "2024-12-03T03:23:07"),
    ("get-object-range", "GET", "examplebucket", "dir/a b+c~d.txt", {},
     {"Range": "bytes=16-31", "x-oss-range-behavior": "standard"}, None, None, "cn-hangzhou",
     "2025-01-01T00:00:00"),
    ("get-object-range-additional", "GET", "examplebucket", "dir/a b+c~d.txt", {},
     {"Range": "bytes=16-31", "x-oss-range-behavior": "standard", "Host": "examplebucket.oss-cn-hangzhou.aliyuncs.com"},
     ["range", "host"], None, "cn-hangzhou", "2025-01-01T00:00:00"),
    ("head-object-sts", "HEAD", "bkt-1", "k", {}, {}, None, "sts-token/with+chars=", "cn-beijing",
     "2023-06-30T23:59:59"),
    ("object-meta", "HEAD", "bkt-1", "k", {"objectMeta": ""}, {}, None, None, "cn-hangzhou",
     "2023-06-30T23:59:59"),
    ("initiate-multipart", "POST", "b", "big/object.bin", {"uploads": ""},
     {"x-oss-meta-client-side-encryption-key": "QUJD", "x-oss-meta-client-side-encryption-part-size": "1048576",
      "Content-Type": "application/octet-stream"}, None, None, "cn-hangzhou", "2026-02-28T12:00:00"),
    ("upload-part", "PUT", "b", "big/object.bin", {"partNumber": "3", "uploadId": "0004B9895DBBB6EC98E36"},
     {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==", "Content-Length": "0"}, ["content-length"], None, "cn-hangzhou",
     "2026-02-28T12:00:01"),
    ("list-parts", "GET", "b", "big/object.bin",
     {"uploadId": "0004B9895DBBB6EC98E36", "max-parts": "1000", "encoding-type": "url"}, {}, None, None,
     "cn-hangzhou", "2026-02-28T12:00:02"),
    ("unicode-key", "PUT", "b", "目录/文件 名.txt", {}, {"x-oss-meta-x": "y"}, None, None, "ap-southeast-1",
     "2022-02-02T02:02:02"),
    ("query-needs-encoding", "GET", "b", "k", {"prefix": "a/b c", "marker": "x+y"}, {}, None, None, "cn-hangzhou",
     "2022-02-02T02:02:02"),
    ("bucket-only", "GET", "b", None, {"uploads": ""}, {}, None, None, "cn-hangzhou", "2022-02-02T02:02:02"),
]


def build(method, bucket, key, params, headers):
    url = f"http://127.0.0.1:8080/{bucket}/" + (quote(key) if key is not None else "")
    if params:
        url += "?" + urlencode(params, quote_via=quote)
    request = HttpRequest(method=method, url=url)
    request.headers.update(headers)
    return request, url


def main():
    out = {
        "generator": "crates/cse-oss-test-server/tests/data/gen_v4_vectors.py",
        "sdk": f"alibabacloud-oss-v2 {alibabacloud_oss_v2.__version__}",
        "access_key_id": "ak-test-id",
        "access_key_secret": "sk-test-secret/+=",
        "cases": [],
    }
    for name, method, bucket, key, params, headers, additional, token, region, when in CASES:
        t = datetime.datetime.fromisoformat(when).replace(tzinfo=datetime.timezone.utc)
        cred = Credentials(out["access_key_id"], out["access_key_secret"], token)
        case = {"name": name, "method": method, "bucket": bucket, "key": key, "region": region,
                "security_token": token, "time": when + "Z", "additional_headers": additional or []}

        request, url = build(method, bucket, key, params, headers)
        case["url"] = url
        case["request_headers"] = dict(headers)
        ctx = SigningContext(product="oss", region=region, bucket=bucket, key=key, request=request,
                             credentials=cred, signing_time=t,
                             additional_headers=set(additional) if additional else None)
        SignerV4().sign(ctx)
        case["v4"] = {"signed_headers": dict(request.headers), "string_to_sign": ctx.string_to_sign,
                      "authorization": request.headers["Authorization"]}

        request, _ = build(method, bucket, key, params, headers)
        ctx = SigningContext(product="oss", region=region, bucket=bucket, key=key, request=request,
                             credentials=cred, signing_time=t)
        SignerV1().sign(ctx)
        case["v1"] = {"signed_headers": dict(request.headers), "string_to_sign": ctx.string_to_sign,
                      "authorization": request.headers["Authorization"]}
        out["cases"].append(case)
    path = HERE / "v4_vectors.json"
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(out['cases'])} cases to {path}")


if __name__ == "__main__":
    main()
