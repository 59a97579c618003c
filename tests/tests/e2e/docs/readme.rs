//! The README walkthrough's blocks: every fenced block marked `sh walkthrough`
//! is a request (one `curl` command, its body inline after `--json` or in a
//! here-document), the `json walkthrough` / `http walkthrough` block after it
//! the answer. Options in the answer's info string: `status=N`,
//! `NAME=/json/pointer` (later requests use `$NAME`), `eventually` (repeat
//! until it matches: the step waits on background work) and `loose` (keys only).

use serde_json::Value;

pub(super) const README: &str = include_str!("../../../../README.md");
/// The address the README's commands and answers use.
pub(super) const DOCUMENTED_BASE: &str = "http://localhost:8080";

#[derive(Debug)]
pub(super) struct Request {
    pub(super) method: reqwest::Method,
    /// Path and query, with `$NAME`s still in it.
    pub(super) path: String,
    pub(super) body: Option<String>,
}

#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Value,
    pub(super) captures: Vec<(String, String)>,
    pub(super) eventually: bool,
    pub(super) loose: bool,
}

#[derive(Debug)]
pub(super) struct Step {
    pub(super) line: usize,
    pub(super) request: Request,
    pub(super) answer: Answer,
}

/// Fenced blocks whose info string has the word `walkthrough`: (line, info, text).
fn marked_blocks(markdown: &str) -> Vec<(usize, String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match open.as_mut() {
            None => {
                if let Some(info) = line.strip_prefix("```")
                    && info.split_whitespace().any(|w| w == "walkthrough")
                {
                    open = Some((n + 1, info.trim().to_owned(), String::new()));
                }
            }
            Some((_, _, text)) if line.trim_end() != "```" => {
                text.push_str(line);
                text.push('\n');
            }
            Some(_) => blocks.extend(open.take()),
        }
    }
    assert!(open.is_none(), "README: a walkthrough block is not closed");
    blocks
}

/// Splits a shell line into words, honouring single and double quotes.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

fn parse_request(line: usize, text: &str) -> Request {
    let mut lines = text.lines();
    let command = lines.next().unwrap_or_default();
    let words = shell_words(command);
    assert_eq!(
        words.first().map(String::as_str),
        Some("curl"),
        "README:{line}: {command}"
    );
    let mut method = None;
    let mut path = None;
    let mut body = None;
    let mut heredoc = false;
    let mut rest = words.iter().skip(1);
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-s" | "-i" | "-si" | "-is" => {}
            "-X" => method = rest.next().cloned(),
            "--json" => body = rest.next().cloned(),
            "<<EOF" => heredoc = true,
            url if url.starts_with("localhost:8080") => path = Some(url["localhost:8080".len()..].to_owned()),
            other => panic!("README:{line}: the walkthrough test does not know `{other}` in {command}"),
        }
    }
    if heredoc {
        let document: Vec<&str> = lines.take_while(|l| *l != "EOF").collect();
        assert_eq!(
            body.as_deref(),
            Some("@-"),
            "README:{line}: a here-document needs `--json @-`"
        );
        body = Some(document.join("\n"));
    }
    let method = match (method, &body) {
        (Some(m), _) => m.parse().unwrap_or_else(|_| panic!("README:{line}: method {m}")),
        (None, Some(_)) => reqwest::Method::POST,
        (None, None) => reqwest::Method::GET,
    };
    Request {
        method,
        path: path.unwrap_or_else(|| panic!("README:{line}: no localhost:8080 URL in {command}")),
        body,
    }
}

fn parse_answer(line: usize, info: &str, text: &str) -> Answer {
    let mut answer = Answer {
        status: 0,
        headers: Vec::new(),
        body: Value::Null,
        captures: Vec::new(),
        eventually: false,
        loose: false,
    };
    for word in info.split_whitespace().skip(2) {
        match word.split_once('=') {
            Some(("status", n)) => answer.status = n.parse().expect("status=N"),
            Some((name, pointer)) => answer.captures.push((name.to_owned(), pointer.to_owned())),
            None if word == "eventually" => answer.eventually = true,
            None if word == "loose" => answer.loose = true,
            None => panic!("README:{line}: unknown walkthrough option {word}"),
        }
    }
    let mut json_text = text;
    if info.starts_with("http") {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut head = head.lines();
        let status_line = head.next().unwrap_or_default();
        answer.status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("README:{line}: status line {status_line}"));
        for header in head {
            let (name, value) = header.split_once(':').expect("a header line");
            answer
                .headers
                .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        json_text = body;
    }
    assert!(answer.status != 0, "README:{line}: no status for this answer");
    answer.body = serde_json::from_str(json_text).unwrap_or_else(|e| panic!("README:{line}: answer is not JSON: {e}"));
    answer
}

/// The walkthrough as (request, answer) pairs, in README order.
pub(super) fn walkthrough() -> Vec<Step> {
    let mut steps = Vec::new();
    let mut pending: Option<(usize, Request)> = None;
    for (line, info, text) in marked_blocks(README) {
        if info.starts_with("sh") {
            assert!(
                pending.is_none(),
                "README:{line}: two requests without an answer between"
            );
            pending = Some((line, parse_request(line, &text)));
        } else {
            let (line, request) = pending
                .take()
                .unwrap_or_else(|| panic!("README:{line}: an answer without a request"));
            let answer = parse_answer(line, &info, &text);
            steps.push(Step { line, request, answer });
        }
    }
    assert!(pending.is_none(), "README: the last walkthrough request has no answer");
    steps
}
