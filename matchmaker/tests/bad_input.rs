//! Every bad input gets its documented 4xx with a JSON error body, never a 5xx or HTML.

mod common;

use common::{Matchmaker, beat_all};
use roomshard_protocol::records::Capacity;
use roomshard_testkit::redis::RedisServer;

struct Case {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: Option<&'static str>,
}

fn case(
    what: &'static str,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    Case {
        what,
        method: "POST",
        path: "/reserve",
        content_type,
        body: body.into(),
        status,
        code,
    }
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn bad_inputs_get_their_documented_4xx() -> anyhow::Result<()> {
    let server = RedisServer::start()?;
    beat_all(
        server.port(),
        2,
        Capacity {
            rooms_per_shard: 100,
            players_per_room: 100,
        },
    )?;
    let mm = Matchmaker::start(&server.url(), &[]).await?;

    let long_room = format!(r#"{{"room":"{}"}}"#, "r".repeat(10_000));
    let mut cases = vec![
        case(
            "malformed JSON",
            JSON,
            "{\"track\":",
            400,
            Some("bad_request"),
        ),
        case("not an object", JSON, "[1,2]", 400, Some("bad_request")),
        case("a bare string", JSON, "\"x\"", 400, Some("bad_request")),
        case(
            "wrong type",
            JSON,
            r#"{"track":42}"#,
            400,
            Some("bad_request"),
        ),
        case(
            "wrong type (room)",
            JSON,
            r#"{"room":{"a":1}}"#,
            400,
            Some("bad_request"),
        ),
        case(
            "unknown field",
            JSON,
            r#"{"track":"a","seat":3}"#,
            400,
            Some("bad_request"),
        ),
        case(
            "invalid UTF-8",
            JSON,
            vec![b'{', b'"', 0xff, b'"', b':', b'1', b'}'],
            400,
            Some("bad_request"),
        ),
        case(
            "just over the limit",
            JSON,
            format!(r#"{{"player":"{}"}}"#, "x".repeat(16 * 1024)),
            413,
            Some("too_large"),
        ),
        case(
            "wrong content type",
            Some("text/plain"),
            "{}",
            415,
            Some("unsupported_media_type"),
        ),
        case(
            "form content type",
            Some("application/x-www-form-urlencoded"),
            "track=a",
            415,
            Some("unsupported_media_type"),
        ),
        case(
            "no content type with a body",
            None,
            "{}",
            415,
            Some("unsupported_media_type"),
        ),
        case(
            "empty body without a content type (a cross-site form's)",
            None,
            "",
            415,
            Some("unsupported_media_type"),
        ),
        case("empty JSON body is {}", JSON, "", 200, None),
        case(
            "unicode track (letters)",
            JSON,
            r#"{"track":"日本語"}"#,
            200,
            None,
        ),
        case(
            "unicode track (emoji)",
            JSON,
            r#"{"track":"🎮"}"#,
            400,
            Some("bad_request"),
        ),
        case(
            "track with a key separator",
            JSON,
            r#"{"track":"a:b"}"#,
            400,
            Some("bad_request"),
        ),
        case(
            "track with a hash tag",
            JSON,
            r#"{"track":"{x}"}"#,
            400,
            Some("bad_request"),
        ),
        case(
            "empty track",
            JSON,
            r#"{"track":""}"#,
            400,
            Some("bad_request"),
        ),
        case(
            "10,000-character room id",
            JSON,
            long_room,
            400,
            Some("bad_request"),
        ),
        case(
            "room id with a space",
            JSON,
            r#"{"room":"a b"}"#,
            400,
            Some("bad_request"),
        ),
        case(
            "unknown room",
            JSON,
            r#"{"room":"nowhere"}"#,
            404,
            Some("room_not_found"),
        ),
        case(
            "null fields are absent",
            JSON,
            r#"{"track":null,"room":null}"#,
            200,
            None,
        ),
        case(
            "control character in player",
            JSON,
            r#"{"player":"a\u0000b"}"#,
            400,
            Some("bad_request"),
        ),
        case(
            "idempotency key with spaces",
            JSON,
            r#"{"idempotencyKey":"a b"}"#,
            400,
            Some("bad_request"),
        ),
    ];
    cases.push(Case {
        what: "GET on a POST route",
        method: "GET",
        path: "/reserve",
        content_type: None,
        body: Vec::new(),
        status: 405,
        code: Some("method_not_allowed"),
    });
    cases.push(Case {
        what: "unknown route",
        method: "GET",
        path: "/admin",
        content_type: None,
        body: Vec::new(),
        status: 404,
        code: Some("not_found"),
    });
    for (what, path) in [
        ("room id not UTF-8", "/rooms/%FF%FE"),
        ("room id with a space", "/rooms/a%20b"),
        (
            "room id too long",
            "/rooms/rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr",
        ),
    ] {
        cases.push(Case {
            what,
            method: "GET",
            path,
            content_type: None,
            body: Vec::new(),
            status: 400,
            code: Some("bad_request"),
        });
    }
    cases.push(Case {
        what: "bad track filter",
        method: "GET",
        path: "/rooms?track=%F0%9F%8E%AE",
        content_type: None,
        body: Vec::new(),
        status: 400,
        code: Some("bad_request"),
    });

    let mut failures = Vec::new();
    for c in &cases {
        let a = mm.send(c.method, c.path, c.content_type, &c.body).await?;
        let body = a.json().unwrap_or(serde_json::Value::Null);
        let code_ok = c.code.is_none_or(|code| body["error"]["code"] == code);
        let shape_ok = c.status == 200
            || body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty());
        if a.status != c.status
            || !code_ok
            || !shape_ok
            || !a.content_type().starts_with("application/json")
        {
            failures.push(format!(
                "{}: got {} {} {}",
                c.what,
                a.status,
                a.content_type(),
                a.body
            ));
        }
        assert!(a.status < 500, "{}: {}", c.what, a.status);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A huge body is refused from its declared length, before the server reads it: the
    // client sends the headers and a first slice only. (A client that insists on writing a
    // megabyte may see the connection close under it once the answer is out.)
    let huge = huge_body_answer(mm.port, 1 << 20)?;
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    assert!(huge.contains("application/json"), "{huge}");
    assert!(huge.contains("\"too_large\""), "{huge}");

    // The service is still healthy after all of it.
    let (s, _) = mm.get("/readyz").await?;
    assert_eq!(s, 200);
    let metrics = mm.send("GET", "/metrics", None, b"").await?;
    let text = &metrics.body;
    assert!(text.contains("roomshard_matchmaker_reservations_total{outcome=\"bad_request\"}"));
    assert!(
        text.contains("roomshard_matchmaker_healthy_shards 2"),
        "{text}"
    );
    Ok(())
}

/// Declares a body of `len` bytes, sends 4 KiB of it, and returns the raw answer.
fn huge_body_answer(port: u16, len: usize) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    write!(
        stream,
        "POST /reserve HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    )?;
    stream.write_all(&vec![b'x'; 4096])?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("}}") {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}
