//! OSS's XML answers, read with quick-xml's serde support into one struct per answer, and the
//! CompleteMultipartUpload request body, written from one.
//!
//! Each answer is read through a one-variant enum named after the root element it must have, so
//! a document with another root (an `<Error>` where a result was expected) is refused rather than
//! read as an empty result. Refused as well: malformed or truncated XML, an element repeated
//! where one is expected (serde's duplicate-field check), an entity other than the five XML
//! predefines or a character reference. Unknown elements are ignored, as OSS adds them freely.

use std::fmt;

use cse_core::Field;
use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::encryption::{PartSummary, UploadedPart};
use crate::error::{Error, Result};

/// Reads `text` as `T`, or says which answer of `operation` it failed to be.
fn read<T: DeserializeOwned>(operation: &'static str, root: &str, text: &str) -> Result<T> {
    let problem = if text.trim().is_empty() {
        format!("the answer is empty where a {root} XML document was expected")
    } else {
        match quick_xml::de::from_str(text) {
            Ok(doc) => return Ok(doc),
            Err(e) => format!("the answer is not a readable {root} XML document: {e}"),
        }
    };
    Err(Error::UnexpectedResponse { operation, problem })
}

/// An `<Error>` document's fields, each `None` when the document lacks it (or, but for
/// `message`, leaves it blank), and all `None` when the text is not such a document.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorFields {
    /// `Code`, such as `NoSuchKey`.
    pub(crate) code: Option<String>,
    /// `Message`.
    pub(crate) message: Option<String>,
    /// `RequestId`.
    pub(crate) request_id: Option<String>,
    /// `EC`, OSS's detailed error code.
    pub(crate) ec: Option<String>,
}

#[derive(Deserialize)]
enum ErrorDocument {
    Error(ErrorXml),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorXml {
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
    #[serde(rename = "EC")]
    ec: Option<String>,
}

/// The fields of an OSS error answer; none for a body that is not an `<Error>` document (a
/// proxy's HTML page, a truncated body, an element given twice), so that the caller falls back
/// on the status and the headers.
pub(crate) fn error_fields(text: &str) -> ErrorFields {
    let Ok(ErrorDocument::Error(doc)) = quick_xml::de::from_str(text) else {
        return ErrorFields::default();
    };
    let filled = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    ErrorFields {
        code: filled(doc.code),
        message: doc.message,
        request_id: filled(doc.request_id),
        ec: filled(doc.ec),
    }
}

#[derive(Deserialize)]
enum InitiateDocument {
    InitiateMultipartUploadResult(InitiateXml),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateXml {
    upload_id: Option<String>,
}

/// The `UploadId` of an InitiateMultipartUpload answer.
///
/// # Errors
/// [`Error::UnexpectedResponse`] for a body that is not an `<InitiateMultipartUploadResult>`
/// document, or has no (or a blank) `UploadId`.
pub(crate) fn initiate_upload_id(text: &str) -> Result<String> {
    const OPERATION: &str = "InitiateMultipartUpload";
    let InitiateDocument::InitiateMultipartUploadResult(doc) =
        read(OPERATION, "InitiateMultipartUploadResult", text)?;
    doc.upload_id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| Error::UnexpectedResponse {
            operation: OPERATION,
            problem: "the answer has no UploadId".to_owned(),
        })
}

#[derive(Deserialize)]
enum CompleteDocument {
    CompleteMultipartUploadResult(CompleteXml),
}

#[derive(Deserialize)]
struct CompleteXml {
    #[serde(rename = "ETag")]
    etag: Option<String>,
}

/// The `ETag` of a CompleteMultipartUpload answer, if the body is such a document and has one.
/// Only asked for when the headers lack it: the answer was a 200, the object exists, and a body
/// that cannot be read costs only the ETag.
pub(crate) fn complete_etag(text: &str) -> Option<String> {
    match quick_xml::de::from_str(text) {
        Ok(CompleteDocument::CompleteMultipartUploadResult(doc)) => doc.etag,
        Err(_) => None,
    }
}

#[derive(Serialize)]
#[serde(rename = "CompleteMultipartUpload")]
struct CompleteBody<'a> {
    #[serde(rename = "Part")]
    parts: Vec<CompletePart<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CompletePart<'a> {
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: &'a str,
}

/// The CompleteMultipartUpload request body listing `parts` in the order given, every text
/// escaped (all five XML special characters, so a quoted ETag goes out as `&quot;…&quot;`).
///
/// # Errors
/// [`Error::InvalidArgument`] if the body cannot be written (quick-xml's serializer refused it).
pub(crate) fn complete_body(parts: &[UploadedPart]) -> Result<String> {
    let body = CompleteBody {
        parts: parts
            .iter()
            .map(|p| CompletePart {
                part_number: p.part_number,
                etag: &p.etag,
            })
            .collect(),
    };
    let mut out = String::new();
    let mut serializer = quick_xml::se::Serializer::new(&mut out);
    serializer.set_quote_level(quick_xml::se::QuoteLevel::Full);
    body.serialize(serializer)
        .map_err(|e| Error::InvalidArgument {
            name: "parts",
            problem: format!("the CompleteMultipartUpload body cannot be written: {e}"),
        })?;
    Ok(out)
}

#[derive(Deserialize)]
enum ListPartsDocument {
    ListPartsResult(ListPartsXml),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPartsXml {
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    next_part_number_marker: Option<u32>,
    #[serde(rename = "Part", default)]
    parts: Vec<PartXml>,
    /// Every other child of the root: the `ClientEncryption*` elements are kept from it.
    #[serde(flatten)]
    envelope: EnvelopeElements,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PartXml {
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: String,
    size: u64,
    #[serde(default)]
    hash_crc64ecma: Option<u64>,
}

/// One page of a ListParts answer.
#[derive(Debug)]
pub(crate) struct ListPartsPage {
    /// The `Part` elements, in document order.
    pub(crate) parts: Vec<PartSummary>,
    /// `IsTruncated` (false when absent).
    pub(crate) is_truncated: bool,
    /// `NextPartNumberMarker` (0 when absent).
    pub(crate) next_part_number_marker: u32,
    /// The `ClientEncryption*` children of the root, each at most once, named as
    /// [`Field::list_parts_element`] names them, with their text, for
    /// [`cse_core::decode_list_parts_envelope`].
    pub(crate) envelope_elements: Vec<(&'static str, String)>,
}

/// Reads one page of a ListParts answer.
///
/// # Errors
/// [`Error::UnexpectedResponse`] for a body that is not a `<ListPartsResult>` document, a `Part`
/// without a numeric `PartNumber` or `Size` or without an `ETag`, a value that is not what its
/// element holds (`IsTruncated` not a boolean, ...), an element given twice, or a
/// `ClientEncryption*` element holding elements rather than text.
pub(crate) fn list_parts(text: &str) -> Result<ListPartsPage> {
    let ListPartsDocument::ListPartsResult(doc) = read("ListParts", "ListPartsResult", text)?;
    Ok(ListPartsPage {
        parts: doc
            .parts
            .into_iter()
            .map(|p| PartSummary {
                part_number: p.part_number,
                etag: p.etag,
                size: p.size,
                crc64: p.hash_crc64ecma,
            })
            .collect(),
        is_truncated: doc.is_truncated,
        next_part_number_marker: doc.next_part_number_marker.unwrap_or(0),
        envelope_elements: doc.envelope.0,
    })
}

/// The children of the ListParts root that [`Field::LIST_PARTS`] names, gathered by the names
/// the engine gives them; every other child is skipped.
struct EnvelopeElements(Vec<(&'static str, String)>);

impl<'de> Deserialize<'de> for EnvelopeElements {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = EnvelopeElements;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the children of a ListPartsResult")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: Vec<(&'static str, String)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let element = Field::LIST_PARTS
                .iter()
                .find_map(|field| field.list_parts_element().filter(|e| *e == name));
            let Some(element) = element else {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            };
            if found.iter().any(|(e, _)| *e == element) {
                return Err(de::Error::custom(format_args!(
                    "duplicate field `{element}`"
                )));
            }
            let text = map.next_value_seed(TextOf(element))?;
            found.push((element, text));
        }
        Ok(EnvelopeElements(found))
    }
}

/// The text of the element `.0`, which must hold no element (attributes are ignored).
struct TextOf(&'static str);

impl<'de> de::DeserializeSeed<'de> for TextOf {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextOf {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the text of `{}`", self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }

    // quick-xml hands an element buffered for `flatten` over as a map: its text under `$text`,
    // its attributes under `@name`, and its child elements under their names.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let mut text = String::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "$text" {
                text.push_str(&map.next_value::<String>()?);
            } else if key.starts_with('@') {
                map.next_value::<de::IgnoredAny>()?;
            } else {
                return Err(de::Error::custom(format_args!(
                    "`{}` holds an element `{key}` where text is expected",
                    self.0
                )));
            }
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(e: Error) -> (&'static str, String) {
        match e {
            Error::UnexpectedResponse { operation, problem } => (operation, problem),
            other => panic!("expected UnexpectedResponse, got {other:?}"),
        }
    }

    fn list_parts_problem(text: &str) -> String {
        let (operation, problem) = problem(list_parts(text).expect_err(text));
        assert_eq!(operation, "ListParts");
        problem
    }

    const TWO_PARTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://doc.oss-cn-hangzhou.aliyuncs.com">
  <Bucket>b</Bucket>
  <Key>k</Key>
  <UploadId>u</UploadId>
  <StorageClass>Standard</StorageClass>
  <PartNumberMarker>0</PartNumberMarker>
  <NextPartNumberMarker>2</NextPartNumberMarker>
  <MaxParts>2</MaxParts>
  <IsTruncated>true</IsTruncated>
  <ClientEncryptionKey>a2V5&amp;</ClientEncryptionKey>
  <ClientEncryptionStart>c3RhcnQ=</ClientEncryptionStart>
  <ClientEncryptionCekAlg>AES/CTR/NoPadding</ClientEncryptionCekAlg>
  <ClientEncryptionWrapAlg>RSA/NONE/PKCS1Padding</ClientEncryptionWrapAlg>
  <ClientEncryptionDataSize>204800</ClientEncryptionDataSize>
  <ClientEncryptionPartSize>102400</ClientEncryptionPartSize>
  <Part>
    <PartNumber>1</PartNumber>
    <LastModified>2024-02-29T12:34:56.000Z</LastModified>
    <ETag>"0123456789ABCDEF0123456789ABCDEF"</ETag>
    <HashCrc64ecma>18446744073709551615</HashCrc64ecma>
    <Size>102400</Size>
  </Part>
  <Part>
    <PartNumber>2</PartNumber>
    <ETag>&quot;second&quot;</ETag>
    <Size> 102400 </Size>
  </Part>
</ListPartsResult>
"#;

    #[test]
    fn list_parts_reads_two_parts_and_the_encryption_fields() {
        let page = list_parts(TWO_PARTS).unwrap();
        assert_eq!(
            page.parts,
            [
                PartSummary {
                    part_number: 1,
                    etag: "\"0123456789ABCDEF0123456789ABCDEF\"".to_owned(),
                    size: 102_400,
                    crc64: Some(u64::MAX),
                },
                PartSummary {
                    part_number: 2,
                    etag: "\"second\"".to_owned(),
                    size: 102_400,
                    crc64: None,
                },
            ]
        );
        assert!(page.is_truncated);
        assert_eq!(page.next_part_number_marker, 2);
        let elements: Vec<(&str, &str)> = page
            .envelope_elements
            .iter()
            .map(|(e, v)| (*e, v.as_str()))
            .collect();
        assert_eq!(
            elements,
            [
                ("ClientEncryptionKey", "a2V5&"),
                ("ClientEncryptionStart", "c3RhcnQ="),
                ("ClientEncryptionCekAlg", "AES/CTR/NoPadding"),
                ("ClientEncryptionWrapAlg", "RSA/NONE/PKCS1Padding"),
                ("ClientEncryptionDataSize", "204800"),
                ("ClientEncryptionPartSize", "102400"),
            ]
        );
    }

    #[test]
    fn list_parts_gathers_every_element_the_engine_names() {
        // Built from the engine's names, so an element added to Field::LIST_PARTS is read too.
        let mut xml = String::from("<ListPartsResult>");
        for (i, field) in Field::LIST_PARTS.iter().enumerate() {
            let tag = field.list_parts_element().unwrap();
            xml.push_str(&format!("<{tag}>v{i}</{tag}>"));
        }
        xml.push_str("</ListPartsResult>");
        let page = list_parts(&xml).unwrap();
        assert_eq!(page.envelope_elements.len(), Field::LIST_PARTS.len());
        for (i, (field, (tag, text))) in Field::LIST_PARTS
            .iter()
            .zip(&page.envelope_elements)
            .enumerate()
        {
            assert_eq!(field.list_parts_element(), Some(*tag));
            assert_eq!(text, &format!("v{i}"));
        }
    }

    #[test]
    fn list_parts_without_encryption_fields_or_parts() {
        let page = list_parts("<ListPartsResult><Bucket>b</Bucket></ListPartsResult>").unwrap();
        assert!(page.parts.is_empty());
        assert!(!page.is_truncated);
        assert_eq!(page.next_part_number_marker, 0);
        assert!(page.envelope_elements.is_empty());
        // An empty element is kept as empty text, for the engine to refuse.
        let page = list_parts("<ListPartsResult><ClientEncryptionKey/></ListPartsResult>").unwrap();
        assert_eq!(
            page.envelope_elements,
            [("ClientEncryptionKey", String::new())]
        );
    }

    #[test]
    fn list_parts_reads_parts_around_other_elements() {
        let xml = "<ListPartsResult>\
            <Part><PartNumber>1</PartNumber><ETag>a</ETag><Size>1</Size></Part>\
            <ClientEncryptionKey>k</ClientEncryptionKey>\
            <Part><PartNumber>2</PartNumber><ETag>b</ETag><Size>2</Size></Part>\
            </ListPartsResult>";
        let page = list_parts(xml).unwrap();
        let numbers: Vec<u32> = page.parts.iter().map(|p| p.part_number).collect();
        assert_eq!(numbers, [1, 2]);
        assert_eq!(
            page.envelope_elements,
            [("ClientEncryptionKey", "k".to_owned())]
        );
    }

    #[test]
    fn list_parts_refuses_truncated_or_malformed_documents() {
        let cut = &TWO_PARTS[..TWO_PARTS.find("<Size> 102400").unwrap()];
        let p = list_parts_problem(cut);
        assert!(
            p.contains("not a readable ListPartsResult XML document"),
            "{p}"
        );
        assert_eq!(
            list_parts_problem(" \n"),
            "the answer is empty where a ListPartsResult XML document was expected"
        );
        for text in [
            "not xml at all",
            "<ListPartsResult><IsTruncated>true</IsTruncated>",
            "<ListPartsResult><A></B></ListPartsResult>",
            "<ListPartsResult><Part>",
        ] {
            let p = list_parts_problem(text);
            assert!(
                p.contains("not a readable ListPartsResult"),
                "{text:?}: {p}"
            );
        }
    }

    #[test]
    fn list_parts_refuses_another_root() {
        let p =
            list_parts_problem("<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>");
        assert!(p.contains("`Error`"), "{p}");
    }

    #[test]
    fn list_parts_names_a_missing_or_bad_part_field() {
        for (part, named) in [
            ("<ETag>e</ETag><Size>1</Size>", "missing field `PartNumber`"),
            (
                "<PartNumber>1</PartNumber><ETag>e</ETag>",
                "missing field `Size`",
            ),
            (
                "<PartNumber>1</PartNumber><Size>1</Size>",
                "missing field `ETag`",
            ),
            (
                "<PartNumber>one</PartNumber><ETag>e</ETag><Size>1</Size>",
                "\"one\"",
            ),
            (
                "<PartNumber>1</PartNumber><ETag>e</ETag><Size>-1</Size>",
                "\"-1\"",
            ),
            (
                "<PartNumber>1</PartNumber><ETag>e</ETag><Size>1</Size>\
                 <HashCrc64ecma>x</HashCrc64ecma>",
                "\"x\"",
            ),
        ] {
            let xml = format!("<ListPartsResult><Part>{part}</Part></ListPartsResult>");
            let p = list_parts_problem(&xml);
            assert!(p.contains(named), "{part}: {p}");
        }
        let p = list_parts_problem(
            "<ListPartsResult><IsTruncated>maybe</IsTruncated></ListPartsResult>",
        );
        assert!(p.contains("\"maybe\""), "{p}");
    }

    #[test]
    fn list_parts_refuses_repeated_elements() {
        for (xml, named) in [
            (
                "<ListPartsResult><IsTruncated>true</IsTruncated>\
                 <IsTruncated>false</IsTruncated></ListPartsResult>",
                "IsTruncated",
            ),
            (
                "<ListPartsResult><NextPartNumberMarker>1</NextPartNumberMarker>\
                 <NextPartNumberMarker>2</NextPartNumberMarker></ListPartsResult>",
                "NextPartNumberMarker",
            ),
            (
                "<ListPartsResult><ClientEncryptionKey>a</ClientEncryptionKey>\
                 <ClientEncryptionKey>b</ClientEncryptionKey></ListPartsResult>",
                "ClientEncryptionKey",
            ),
            (
                "<ListPartsResult><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber>\
                 <ETag>e</ETag><Size>1</Size></Part></ListPartsResult>",
                "PartNumber",
            ),
        ] {
            let p = list_parts_problem(xml);
            assert!(
                p.contains(&format!("duplicate field `{named}`")),
                "{xml}: {p}"
            );
        }
    }

    #[test]
    fn list_parts_refuses_elements_inside_an_encryption_field() {
        let p = list_parts_problem(
            "<ListPartsResult><ClientEncryptionStart>a<B>c</B></ClientEncryptionStart>\
             </ListPartsResult>",
        );
        assert!(
            p.contains("`ClientEncryptionStart` holds an element `B`"),
            "{p}"
        );
    }

    #[test]
    fn entities_and_character_references_are_decoded() {
        let page = list_parts(
            "<ListPartsResult><ClientEncryptionKey>x&amp;y&lt;&gt;&quot;&apos;&#65;&#x42;\
             <![CDATA[<&>]]></ClientEncryptionKey>\
             <Part><PartNumber>1</PartNumber><ETag>&quot;e&amp;&quot;</ETag><Size>1</Size>\
             </Part></ListPartsResult>",
        )
        .unwrap();
        assert_eq!(
            page.envelope_elements,
            [("ClientEncryptionKey", "x&y<>\"'AB<&>".to_owned())]
        );
        assert_eq!(page.parts[0].etag, "\"e&\"");
        // The scanner this replaced passed an unknown entity through; it is malformed XML.
        let p = list_parts_problem(
            "<ListPartsResult><ClientEncryptionKey>&bogus;</ClientEncryptionKey></ListPartsResult>",
        );
        assert!(p.contains("bogus"), "{p}");
        assert_eq!(
            initiate_upload_id(
                "<InitiateMultipartUploadResult><UploadId>a&amp;b&#x43;</UploadId>\
                 </InitiateMultipartUploadResult>"
            )
            .unwrap(),
            "a&bC"
        );
    }

    #[test]
    fn error_documents() {
        let full = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  \
            <Code>NoSuchKey</Code>\n  <Message>The specified key &lt;k&gt; does not exist.</Message>\n  \
            <RequestId>5C3D9175B6FC201293AD****</RequestId>\n  <HostId>h</HostId>\n  \
            <Key>k</Key>\n  <EC>0026-00000001</EC>\n</Error>\n";
        assert_eq!(
            error_fields(full),
            ErrorFields {
                code: Some("NoSuchKey".to_owned()),
                message: Some("The specified key <k> does not exist.".to_owned()),
                request_id: Some("5C3D9175B6FC201293AD****".to_owned()),
                ec: Some("0026-00000001".to_owned()),
            }
        );
        // Without Code (or with a blank one) the caller falls back on the status.
        let no_code = "<Error><Message>m</Message><RequestId>r</RequestId></Error>";
        assert_eq!(
            error_fields(no_code),
            ErrorFields {
                code: None,
                message: Some("m".to_owned()),
                request_id: Some("r".to_owned()),
                ec: None,
            }
        );
        assert_eq!(error_fields("<Error><Code> </Code></Error>").code, None);
        // Not an error document, truncated, or ambiguous: nothing is believed.
        for text in [
            "",
            "<html><body>502 Bad Gateway</body></html>",
            "<Error><Code>NoSuchKey</Code>",
            "<Error><Code>A</Code><Code>B</Code></Error>",
        ] {
            assert_eq!(error_fields(text), ErrorFields::default(), "{text:?}");
        }
    }

    #[test]
    fn initiate_answers() {
        let ok = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult>\n  \
            <Bucket>b</Bucket>\n  <Key>k</Key>\n  <UploadId>0004B9894A22E5B1888A1E29F823****</UploadId>\n\
            </InitiateMultipartUploadResult>\n";
        assert_eq!(
            initiate_upload_id(ok).unwrap(),
            "0004B9894A22E5B1888A1E29F823****"
        );
        for text in [
            "<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>",
            "<InitiateMultipartUploadResult><UploadId/></InitiateMultipartUploadResult>",
            "<InitiateMultipartUploadResult><UploadId> </UploadId></InitiateMultipartUploadResult>",
        ] {
            assert_eq!(
                problem(initiate_upload_id(text).unwrap_err()),
                (
                    "InitiateMultipartUpload",
                    "the answer has no UploadId".to_owned()
                ),
                "{text}"
            );
        }
        for (text, named) in [
            (&ok[..ok.len() - 20], "InitiateMultipartUploadResult"),
            ("<Error><UploadId>u</UploadId></Error>", "`Error`"),
            (
                "<InitiateMultipartUploadResult><UploadId>a</UploadId><UploadId>b</UploadId>\
                 </InitiateMultipartUploadResult>",
                "duplicate field `UploadId`",
            ),
        ] {
            let (operation, p) = problem(initiate_upload_id(text).unwrap_err());
            assert_eq!(operation, "InitiateMultipartUpload");
            assert!(p.contains(named), "{text}: {p}");
        }
    }

    #[test]
    fn complete_answers() {
        let ok = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult>\n  \
            <Location>/b/k</Location>\n  <Bucket>b</Bucket>\n  <Key>k</Key>\n  \
            <ETag>&quot;ABC-2&quot;</ETag>\n</CompleteMultipartUploadResult>\n";
        assert_eq!(complete_etag(ok).as_deref(), Some("\"ABC-2\""));
        for text in [
            "",
            &ok[..ok.len() - 10],
            "<CompleteMultipartUploadResult><Key>k</Key></CompleteMultipartUploadResult>",
            "<Error><ETag>x</ETag></Error>",
            "<CompleteMultipartUploadResult><ETag>a</ETag><ETag>b</ETag>\
             </CompleteMultipartUploadResult>",
        ] {
            assert_eq!(complete_etag(text), None, "{text:?}");
        }
    }

    #[test]
    fn complete_body_escapes_etags() {
        let parts = [
            UploadedPart {
                part_number: 1,
                etag: "\"a&b\"".to_owned(),
            },
            UploadedPart {
                part_number: 10_000,
                etag: "<'x'>".to_owned(),
            },
        ];
        let body = complete_body(&parts).unwrap();
        assert_eq!(
            body,
            "<CompleteMultipartUpload>\
             <Part><PartNumber>1</PartNumber><ETag>&quot;a&amp;b&quot;</ETag></Part>\
             <Part><PartNumber>10000</PartNumber><ETag>&lt;&apos;x&apos;&gt;</ETag></Part>\
             </CompleteMultipartUpload>"
        );
        // And it reads back to the same text.
        #[derive(Deserialize)]
        struct Back {
            #[serde(rename = "Part")]
            parts: Vec<PartBack>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct PartBack {
            part_number: u32,
            #[serde(rename = "ETag")]
            etag: String,
        }
        let back: Back = quick_xml::de::from_str(&body).unwrap();
        let read: Vec<(u32, String)> = back
            .parts
            .into_iter()
            .map(|p| (p.part_number, p.etag))
            .collect();
        let sent: Vec<(u32, String)> = parts
            .iter()
            .map(|p| (p.part_number, p.etag.clone()))
            .collect();
        assert_eq!(read, sent);
    }
}
