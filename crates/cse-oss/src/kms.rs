//! The KMS master key (`KMS/ALICLOUD`): content keys wrapped by Alibaba Cloud KMS `Encrypt` and
//! unwrapped by `Decrypt`, as the Java SDK, Go V1 and the Go/Python V2 KMS samples do.
//!
//! Format facts (spec §4.3): the content key and the counter block are wrapped by two separate
//! `Encrypt` calls whose `Plaintext` is the base64 of the raw bytes, with no EncryptionContext;
//! the header holds the returned `CiphertextBlob` string itself. To unwrap, `Decrypt` with that
//! string and base64-decode the returned `Plaintext`. (oss2 double-encodes the header and is not
//! compatible.)
//!
//! KMS is IO, so it does not fit the engine's synchronous [`cse_core::MasterCipher`]: the client
//! wraps and unwraps here, and hands the engine the results through
//! [`cse_core::Envelope::from_wrapped`], [`cse_core::Envelope::wrapped_key`] and
//! [`cse_core::ContentMaterial::from_unwrapped`].
//!
//! The calls are the KMS RPC API (version 2016-01-20, HMAC-SHA1 signature version 1.0). Tested
//! against a local stand-in for `Encrypt` and `Decrypt` only, never against live KMS.

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cse_core::{ContentMaterial, Envelope, SealedEnvelope, WRAP_ALG_KMS};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use sha1::Sha1;
use zeroize::Zeroizing;

use crate::client::Credentials;
use crate::error::{Error, Result};

const RPC_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, RPC_ENCODE).to_string()
}

/// Percent-encodes `s` onto the end of `out`, without an intermediate string.
fn push_encoded(out: &mut String, s: &str) {
    for piece in utf8_percent_encode(s, RPC_ENCODE) {
        out.push_str(piece);
    }
}

/// A master key held in Alibaba Cloud KMS.
#[derive(Clone)]
pub struct KmsMasterKey {
    endpoint: String,
    key_id: String,
    credentials: Credentials,
    matdesc: String,
    http: reqwest::Client,
}

impl fmt::Debug for KmsMasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsMasterKey")
            .field("endpoint", &self.endpoint)
            .field("key_id", &self.key_id)
            .field("credentials", &self.credentials)
            .field("matdesc", &self.matdesc)
            .finish_non_exhaustive()
    }
}

impl KmsMasterKey {
    /// The KMS key `key_id` at `endpoint` (for example `https://kms.cn-hangzhou.aliyuncs.com`).
    #[must_use]
    pub fn new(
        endpoint: impl Into<String>,
        key_id: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            key_id: key_id.into(),
            credentials,
            matdesc: String::new(),
            http: reqwest::Client::new(),
        }
    }

    /// Sets the material description written with each object (a JSON object of strings).
    #[must_use]
    pub fn with_matdesc(mut self, matdesc: impl Into<String>) -> Self {
        self.matdesc = matdesc.into();
        self
    }

    /// Uses this HTTP client.
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// One signed RPC call; returns the answer's text, which may carry key material (the
    /// `Plaintext` of `Decrypt`), so it is zeroized when dropped, as is everything built from
    /// the parameters (the `Plaintext` of `Encrypt`).
    async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<Answer> {
        let nonce = {
            let mut b = [0u8; 16];
            getrandom::fill(&mut b).map_err(|e| Error::Kms(format!("no randomness: {e}")))?;
            hex::encode(b)
        };
        let timestamp = crate::time::iso8601(SystemTime::now());
        let mut query: Vec<(&str, &str)> = vec![
            ("Action", action),
            ("Format", "JSON"),
            ("Version", "2016-01-20"),
            ("AccessKeyId", self.credentials.access_key_id()),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", &nonce),
            ("Timestamp", &timestamp),
        ];
        if let Some(token) = self.credentials.security_token() {
            query.push(("SecurityToken", token));
        }
        query.extend_from_slice(params);
        query.sort_unstable();
        // Every string that holds a parameter (Encrypt's Plaintext is the content key) is built
        // in place in a zeroizing buffer sized up front, so no reallocation leaves a copy behind.
        let room = query
            .iter()
            .map(|(k, v)| 3 * (k.len() + v.len()) + 2)
            .sum::<usize>();
        let mut canonical = Zeroizing::new(String::with_capacity(room));
        for (i, (k, v)) in query.iter().enumerate() {
            if i > 0 {
                canonical.push('&');
            }
            push_encoded(&mut canonical, k);
            canonical.push('=');
            push_encoded(&mut canonical, v);
        }
        let mut string_to_sign = Zeroizing::new(String::with_capacity(3 * canonical.len() + 16));
        string_to_sign.push_str("POST&%2F&");
        push_encoded(&mut string_to_sign, &canonical);
        let secret = self.credentials.access_key_secret();
        let mut key = Zeroizing::new(String::with_capacity(secret.len() + 1));
        key.push_str(secret);
        key.push('&');
        let signature = match Hmac::<Sha1>::new_from_slice(key.as_bytes()) {
            Ok(mut mac) => {
                mac.update(string_to_sign.as_bytes());
                STANDARD.encode(mac.finalize().into_bytes())
            }
            Err(_) => return Err(Error::Kms("cannot key HMAC-SHA1".to_owned())),
        };
        let mut body = Zeroizing::new(Vec::with_capacity(
            canonical.len() + 3 * signature.len() + 12,
        ));
        body.extend_from_slice(canonical.as_bytes());
        body.extend_from_slice(b"&Signature=");
        body.extend_from_slice(enc(&signature).as_bytes());
        let resp = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-www-form-urlencoded")
            // The request body carries the content key (Encrypt's Plaintext): hand reqwest a
            // buffer that is zeroized when its last reference is dropped.
            .body(bytes::Bytes::from_owner(body))
            .send()
            .await
            .map_err(|e| Error::Kms(format!("{action} could not reach {}: {e}", self.endpoint)))?;
        let status = resp.status();
        // The answer (Decrypt's Plaintext is the content key) is taken over without a copy when
        // the HTTP stack holds no other reference to it, and zeroized when dropped.
        let text: Zeroizing<Vec<u8>> = Zeroizing::new(
            resp.bytes()
                .await
                .map_err(|e| Error::Kms(format!("{action}: the answer failed: {e}")))?
                .into(),
        );
        Ok(Answer { status, text })
    }

    async fn encrypt(&self, raw: &[u8]) -> Result<Vec<u8>> {
        let plaintext = Zeroizing::new(STANDARD.encode(raw));
        let answer = self
            .call(
                "Encrypt",
                &[("KeyId", &self.key_id), ("Plaintext", &plaintext)],
            )
            .await?;
        let reply: EncryptReply = answer.parse("Encrypt").map_err(Error::Kms)?;
        let blob = reply
            .ciphertext_blob
            .ok_or_else(|| Error::Kms("Encrypt answered no CiphertextBlob".to_owned()))?;
        // The header holds the blob string; the engine base64-encodes what it is given, so hand
        // it the decoded bytes (strict base64 round-trips exactly).
        STANDARD.decode(blob).map_err(|_| {
            Error::Kms("Encrypt answered a CiphertextBlob that is not base64".to_owned())
        })
    }

    /// Unwraps one value. Whatever KMS answers that is not a plaintext (an error document, a
    /// missing or malformed `Plaintext`) is a `Err(diagnostic)`; only an unreachable KMS is an
    /// error of its own.
    async fn decrypt(
        &self,
        wrapped: &[u8],
    ) -> Result<std::result::Result<Zeroizing<Vec<u8>>, String>> {
        let blob = STANDARD.encode(wrapped);
        let answer = self.call("Decrypt", &[("CiphertextBlob", &blob)]).await?;
        let reply: DecryptReply = match answer.parse("Decrypt") {
            Ok(reply) => reply,
            Err(diagnostic) => return Ok(Err(diagnostic)),
        };
        let Some(plaintext) = reply.plaintext else {
            return Ok(Err("Decrypt answered no Plaintext".to_owned()));
        };
        Ok(STANDARD
            .decode(plaintext.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| "Decrypt answered a Plaintext that is not base64".to_owned()))
    }

    /// Wraps `material` into a new object's envelope.
    pub(crate) async fn seal(&self, material: ContentMaterial) -> Result<SealedEnvelope> {
        let key = self.encrypt(material.key().as_bytes()).await?;
        let counter = self.encrypt(material.counter().as_bytes()).await?;
        Ok(SealedEnvelope::from_wrapped(
            material,
            WRAP_ALG_KMS,
            &self.matdesc,
            &key,
            &counter,
        )?)
    }

    /// Unwraps an envelope's material.
    pub(crate) async fn open(&self, envelope: &Envelope) -> Result<ContentMaterial> {
        envelope.expect_wrap_alg(WRAP_ALG_KMS)?;
        // Both unwraps always run; any answer that is not usable material is the one opaque
        // unwrap error, with KMS's own words kept aside for logs.
        let key = self.decrypt(envelope.wrapped_key().as_bytes()).await?;
        let counter = self.decrypt(envelope.wrapped_counter().as_bytes()).await?;
        match (key, counter) {
            (Ok(key), Ok(counter)) => {
                ContentMaterial::from_unwrapped(&key, &counter).map_err(|_| Error::KmsUnwrap {
                    diagnostic: "Decrypt answered values of the wrong length".to_owned(),
                })
            }
            (Err(diagnostic), _) | (_, Err(diagnostic)) => Err(Error::KmsUnwrap { diagnostic }),
        }
    }
}

/// A KMS answer: its status and its zeroizing text.
struct Answer {
    status: reqwest::StatusCode,
    text: Zeroizing<Vec<u8>>,
}

/// The fields of a KMS error document, all public.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorReply {
    #[serde(rename = "Code")]
    code: String,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "RequestId")]
    request_id: String,
}

#[derive(Deserialize)]
struct EncryptReply {
    #[serde(rename = "CiphertextBlob")]
    ciphertext_blob: Option<String>,
}

#[derive(Deserialize)]
struct DecryptReply {
    #[serde(rename = "Plaintext")]
    plaintext: Option<Zeroizing<String>>,
}

impl Answer {
    /// The answer as `T`, or a diagnostic that never quotes the answer's text (which may hold
    /// key material): the status and KMS's error code, message and request id.
    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        action: &str,
    ) -> std::result::Result<T, String> {
        if !self.status.is_success() {
            let e: ErrorReply = serde_json::from_slice(&self.text).unwrap_or_default();
            return Err(format!(
                "{action} failed: HTTP {} {}: {} (request id {})",
                self.status, e.code, e.message, e.request_id
            ));
        }
        serde_json::from_slice(&self.text).map_err(|_| {
            format!(
                "{action}: HTTP {}, the answer is not the expected JSON",
                self.status
            )
        })
    }
}
